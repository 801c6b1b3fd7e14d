using System.Globalization;

namespace AgentLocator.Benchmarks;

/// <summary>
/// CPU time of the processes a request passes through, read from <c>/proc/&lt;pid&gt;/stat</c> (user + system),
/// so a benchmark can report CPU milliseconds per request per process: unlike wall-clock throughput, that
/// holds on a machine other work shares. A process's children count too (a Postgres postmaster's backends,
/// background writers, and the children it has already reaped), so <c>postgres=&lt;postmaster pid&gt;</c> is
/// the whole server.
/// </summary>
public sealed class ProcessCpu(IReadOnlyList<(string Name, int Pid)> processes)
{
    private static readonly double MillisecondsPerTick = 1000.0 / 100; // USER_HZ is 100 on Linux

    /// <summary>Parses <c>api=123,postgres=456,redis=789</c>.</summary>
    public static ProcessCpu Parse(string spec) => new(spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(pair => pair.Split('=', 2))
        .Select(parts => parts.Length == 2 && int.TryParse(parts[1], CultureInfo.InvariantCulture, out var pid)
            ? (parts[0], pid)
            : throw new ArgumentException($"--cpu-pids takes name=pid pairs separated by commas, not '{string.Join('=', parts)}'."))
        .ToList());

    public IReadOnlyList<string> Names => processes.Select(p => p.Name).ToList();

    /// <summary>Each process's CPU time so far in milliseconds, its children's included, plus this process's own as <c>loadgen</c>.</summary>
    public Dictionary<string, double> Sample()
    {
        var stats = ReadAllStats();
        var sample = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (name, pid) in processes)
        {
            if (!stats.TryGetValue(pid, out var own))
            {
                throw new InvalidOperationException($"process {name} (pid {pid}) is not running");
            }
            // Running children, and (cutime + cstime) those already exited and reaped.
            var ticks = own.User + own.System + own.ChildrenUser + own.ChildrenSystem
                        + stats.Values.Where(s => s.ParentPid == pid).Sum(s => s.User + s.System);
            sample[name] = ticks * MillisecondsPerTick;
        }
        sample["loadgen"] = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds;
        return sample;
    }

    private static Dictionary<int, Stat> ReadAllStats()
    {
        var stats = new Dictionary<int, Stat>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }
            try
            {
                var text = File.ReadAllText(Path.Combine(directory, "stat"));
                // The command name is in parentheses and may hold spaces: the fields start after the last ')'.
                var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
                stats[pid] = new Stat(int.Parse(fields[1], CultureInfo.InvariantCulture),
                    long.Parse(fields[11], CultureInfo.InvariantCulture), long.Parse(fields[12], CultureInfo.InvariantCulture),
                    long.Parse(fields[13], CultureInfo.InvariantCulture), long.Parse(fields[14], CultureInfo.InvariantCulture));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The process ended while we looked.
            }
        }
        return stats;
    }

    private readonly record struct Stat(int ParentPid, long User, long System, long ChildrenUser, long ChildrenSystem);
}
