using System.Globalization;
using AgentLocator.AppHost.Processes;

namespace AgentLocator.Tests.AppHost;

/// <summary>Reads /proc to find a process's descendants and whether they are still alive.</summary>
internal static class ProcessTree
{
    public static IReadOnlyList<int> Descendants(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), out var pid) && ParentOf(pid) is { } parent)
            {
                parents[pid] = parent;
            }
        }

        var result = new List<int>();
        var frontier = new Queue<int>([root]);
        while (frontier.TryDequeue(out var current))
        {
            foreach (var (child, parent) in parents)
            {
                if (parent == current && Posix.IsAlive(child))
                {
                    result.Add(child);
                    frontier.Enqueue(child);
                }
            }
        }

        return result;
    }

    public static IReadOnlyList<int> Alive(IEnumerable<int> pids) => pids.Where(Posix.IsAlive).ToArray();

    public static async Task<IReadOnlyList<int>> WaitUntilAllDeadAsync(IEnumerable<int> pids, TimeSpan timeout)
    {
        var watched = pids.ToArray();
        var deadline = DateTime.UtcNow + timeout;
        while (Alive(watched) is { Count: > 0 } alive)
        {
            if (DateTime.UtcNow > deadline)
            {
                return alive;
            }

            await Task.Delay(100);
        }

        return [];
    }

    public static string Describe(IEnumerable<int> pids) =>
        string.Join("; ", pids.Select(p => $"{p}: {PortOwners.ReadCommandLine(p)}"));

    public static int? UidOf(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal));
        return line is null ? null : int.Parse(line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }

    public static IReadOnlyDictionary<string, string> EnvironmentOf(int pid) =>
        File.ReadAllText($"/proc/{pid}/environ")
            .Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Select(entry => entry.Split('=', 2))
            .Where(parts => parts.Length == 2)
            .GroupBy(parts => parts[0], StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Last()[1], StringComparer.Ordinal);

    private static int? ParentOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[1], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null;
        }
    }
}
