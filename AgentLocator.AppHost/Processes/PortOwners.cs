using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace AgentLocator.AppHost.Processes;

/// <summary>A process holding a TCP port, as found in /proc.</summary>
public sealed record PortOwner(int ProcessId, string CommandLine)
{
    public override string ToString() => $"pid {ProcessId} ({CommandLine})";
}

/// <summary>Finds who holds a TCP port (Linux: /proc/net/tcp{,6} socket inodes matched against /proc/*/fd), and picks free ports.</summary>
public static class PortOwners
{
    /// <summary>
    /// Null when nothing listens on <paramref name="port"/> on any address and 127.0.0.1:<paramref name="port"/> can be bound;
    /// otherwise the holders (empty if the port is taken but /proc does not say by whom).
    /// </summary>
    public static IReadOnlyList<PortOwner>? FindHolders(int port)
    {
        var inodes = OperatingSystem.IsLinux() ? ListeningSocketInodes(port) : [];
        if (inodes.Count == 0 && CanBind(port))
        {
            return null;
        }

        return inodes.Count == 0 ? [] : ProcessesOwning(inodes);
    }

    /// <summary>A port that was free a moment ago (bind to port 0, read it, release it).</summary>
    public static int GetFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static bool CanBind(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static HashSet<string> ListeningSocketInodes(int port)
    {
        const string Listen = "0A";
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(table))
            {
                continue;
            }

            foreach (var line in File.ReadLines(table).Skip(1))
            {
                // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length < 10 || fields[3] != Listen)
                {
                    continue;
                }

                var local = fields[1];
                var localPort = int.Parse(local[(local.LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (localPort == port && fields[9] != "0")
                {
                    inodes.Add($"socket:[{fields[9]}]");
                }
            }
        }

        return inodes;
    }

    private static List<PortOwner> ProcessesOwning(HashSet<string> socketLinks)
    {
        var owners = new List<PortOwner>();
        foreach (var processDirectory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(processDirectory), out var pid))
            {
                continue;
            }

            try
            {
                var holds = Directory.EnumerateFileSystemEntries(Path.Combine(processDirectory, "fd"))
                    .Any(fd => new FileInfo(fd).LinkTarget is { } target && socketLinks.Contains(target));
                if (holds)
                {
                    owners.Add(new PortOwner(pid, ReadCommandLine(pid)));
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // The process exited while we looked, or is not ours to inspect.
            }
        }

        return owners;
    }

    public static string ReadCommandLine(int pid)
    {
        try
        {
            var raw = File.ReadAllText($"/proc/{pid}/cmdline");
            return raw.TrimEnd('\0').Replace('\0', ' ');
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return "?";
        }
    }
}
