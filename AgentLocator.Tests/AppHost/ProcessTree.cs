using System.Diagnostics;
using System.Globalization;

namespace AgentLocator.Tests.AppHost;

/// <summary>Reads /proc: a process's descendants, command line, environment and user, and whether it still runs.</summary>
internal static class ProcessTree
{
    public const int SIGINT = 2;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

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
                if (parent == current && IsAlive(child))
                {
                    result.Add(child);
                    frontier.Enqueue(child);
                }
            }
        }

        return result;
    }

    /// <summary>True while <paramref name="pid"/> exists and is not a zombie waiting to be reaped.</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // "pid (comm) S ..." — comm may hold spaces or parentheses, so read the state after the last ')'.
            return stat[(stat.LastIndexOf(')') + 2)..][0] is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
    }

    public static IReadOnlyList<int> Alive(IEnumerable<int> pids) => pids.Where(IsAlive).ToArray();

    public static async Task<IReadOnlyList<int>> WaitUntilAllDeadAsync(IEnumerable<int> pids, TimeSpan timeout) =>
        [.. (await TimeExitsAsync(pids, timeout)).Where(exit => exit.Value is null).Select(exit => exit.Key)];

    /// <summary>
    /// Polls every 100 ms until each of <paramref name="pids"/> has exited or <paramref name="timeout"/> passes: when each was
    /// first seen gone, counted from the call (null: still running at the timeout).
    /// </summary>
    public static async Task<IReadOnlyDictionary<int, TimeSpan?>> TimeExitsAsync(IEnumerable<int> pids, TimeSpan timeout)
    {
        var exits = pids.Distinct().ToDictionary(pid => pid, _ => (TimeSpan?)null);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            foreach (var pid in exits.Keys.Where(pid => exits[pid] is null && !IsAlive(pid)).ToArray())
            {
                exits[pid] = clock.Elapsed;
            }

            if (exits.Values.All(exit => exit is not null) || clock.Elapsed > timeout)
            {
                return exits;
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Sends a signal with kill(1); false if the process is gone.</summary>
    public static bool Signal(int pid, int signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", $"{pid}"]) { RedirectStandardError = true })!;
        kill.StandardError.ReadToEnd();
        kill.WaitForExit();
        return kill.ExitCode == 0;
    }

    public static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").TrimEnd('\0').Replace('\0', ' ');
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return "?";
        }
    }

    /// <summary>The DCP API server Aspire started for the AppHost running in <paramref name="appHost"/> (it monitors that pid).</summary>
    public static int? FindDcp(int appHost)
    {
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), out var pid)
                && CommandLine(pid) is var command
                && command.Contains(" start-apiserver ", StringComparison.Ordinal)
                && command.Contains($" --monitor {appHost} ", StringComparison.Ordinal))
            {
                return pid;
            }
        }

        return null;
    }

    /// <summary>True when something accepts a TCP connection on 127.0.0.1:<paramref name="port"/>.</summary>
    public static async Task<bool> AnswersAsync(int port)
    {
        using var client = new System.Net.Sockets.TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await client.ConnectAsync(System.Net.IPAddress.Loopback, port, timeout.Token);
            return true;
        }
        catch (Exception exception) when (exception is System.Net.Sockets.SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    public static string Describe(IEnumerable<int> pids) => string.Join("; ", pids.Select(p => $"{p}: {CommandLine(p)}"));

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

    public static int? ParentOf(int pid)
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
