using AgentLocator.AppHost.Processes;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AgentLocator.Tests.Infrastructure;

public enum RedisServerKind
{
    /// <summary>The real redis-server from apt (<c>apt-get install -y redis-server</c>).</summary>
    Redis,

    /// <summary>Microsoft Garnet from the repository's tool manifest (<c>dotnet tool restore</c>).</summary>
    Garnet,
}

/// <summary>
/// A private Redis-compatible server for one test or test class: its own free port on 127.0.0.1, its own
/// temp directory, no persistence. <see cref="Stop"/> kills it; <see cref="StartAsync()"/> brings it back on
/// the same port (restart tests). When the server binary is missing the start fails with a message that
/// says how to install it: Redis tests never skip.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private static readonly TimeSpan RedisStartTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan GarnetStartTimeout = TimeSpan.FromSeconds(40);

    private readonly string[] _extraArgs;
    private readonly StringBuilder _output = new();
    private Process? _process;

    private RedisServer(RedisServerKind kind, int port, string? password, string[] extraArgs)
    {
        Kind = kind;
        Port = port;
        Password = password;
        _extraArgs = extraArgs;
        DataDirectory = Directory.CreateTempSubdirectory($"agentlocator-{kind.ToString().ToLowerInvariant()}-").FullName;
    }

    public RedisServerKind Kind { get; }

    public int Port { get; }

    public string? Password { get; }

    public string DataDirectory { get; }

    public bool IsRunning => _process is { HasExited: false };

    /// <summary><c>127.0.0.1:PORT[,password=…]</c>, the Aspire connection-string shape.</summary>
    public string ConnectionString => Password is null ? $"127.0.0.1:{Port}" : $"127.0.0.1:{Port},password={Password}";

    /// <summary>Starts a server on a free port and waits until it answers PING.</summary>
    /// <param name="password">requirepass (Redis) / --auth Password (Garnet).</param>
    /// <param name="extraArgs">More server arguments, e.g. <c>--user alice on &gt;pw ~* &amp;* +@all</c> for redis-server.</param>
    public static Task<RedisServer> StartAsync(RedisServerKind kind = RedisServerKind.Redis, string? password = null, params string[] extraArgs) =>
        StartOnPortAsync(PortOwners.GetFreePort(), kind, password, extraArgs);

    /// <summary>Starts a server on a given port (e.g. one a client was already told to use).</summary>
    public static async Task<RedisServer> StartOnPortAsync(int port, RedisServerKind kind = RedisServerKind.Redis, string? password = null, params string[] extraArgs)
    {
        var server = new RedisServer(kind, port, password, extraArgs);
        try
        {
            await server.StartAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>(Re)starts the server on its port and waits until it answers.</summary>
    public async Task StartAsync()
    {
        if (IsRunning)
        {
            return;
        }
        lock (_output)
        {
            _output.Clear();
        }
        var startInfo = Kind == RedisServerKind.Redis ? RedisStartInfo() : GarnetStartInfo();
        startInfo.RedirectStandardOutput = true;
        startInfo.RedirectStandardError = true;
        startInfo.UseShellExecute = false;

        Process process;
        try
        {
            process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {startInfo.FileName}.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"Could not run {startInfo.FileName}: {ex.Message}. {InstallHint}", ex);
        }
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        await WaitUntilAnsweringAsync(Kind == RedisServerKind.Redis ? RedisStartTimeout : GarnetStartTimeout);
    }

    /// <summary>Kills the server at once (like a crash); the port stays reserved for <see cref="StartAsync()"/>.</summary>
    public void Stop()
    {
        var process = _process;
        _process = null;
        if (process is null)
        {
            return;
        }
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
            if (!process.WaitForExit(10_000))
            {
                throw new InvalidOperationException($"{Kind} on port {Port} did not exit within 10 s of being killed.");
            }
        }
        finally
        {
            process.Dispose();
        }
    }

    public async Task RestartAsync()
    {
        Stop();
        await StartAsync();
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a dying process; the temp dir is cleaned by the OS eventually.
        }
        return ValueTask.CompletedTask;
    }

    private string InstallHint => Kind == RedisServerKind.Redis
        ? "Install it with `apt-get install -y redis-server` (or set REDIS_SERVER_PATH)."
        : "Restore it with `dotnet tool restore` in the repository root (tool manifest .config/dotnet-tools.json pins garnet-server 2.2.5).";

    private ProcessStartInfo RedisStartInfo()
    {
        var binary = Environment.GetEnvironmentVariable("REDIS_SERVER_PATH") ?? FindOnPath("redis-server")
            ?? throw new InvalidOperationException($"redis-server was not found on PATH. {InstallHint}");
        var info = new ProcessStartInfo(binary) { WorkingDirectory = DataDirectory };
        foreach (var arg in new[] { "--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--dir", DataDirectory, "--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning" })
        {
            info.ArgumentList.Add(arg);
        }
        if (Password is not null)
        {
            info.ArgumentList.Add("--requirepass");
            info.ArgumentList.Add(Password);
        }
        foreach (var arg in _extraArgs)
        {
            info.ArgumentList.Add(arg);
        }
        return info;
    }

    private static readonly Lazy<bool> ToolsRestored = new(() =>
    {
        // A fresh checkout has the manifest but not the tool: restore it once per test run.
        var restore = new ProcessStartInfo("dotnet", ["tool", "restore"])
        {
            WorkingDirectory = RepositoryRoot(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(restore)!;
        process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        return process.WaitForExit(TimeSpan.FromMinutes(5)) && process.ExitCode == 0;
    });

    private ProcessStartInfo GarnetStartInfo()
    {
        _ = ToolsRestored.Value;
        var root = RepositoryRoot();
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = root };
        foreach (var arg in new[] { "tool", "run", "garnet-server", "--", "--port", Port.ToString(), "--bind", "127.0.0.1",
                     "--memory", "64m", "--index", "1m", "--checkpointdir", DataDirectory,
                     "--logger-level", "Warning" })
        {
            info.ArgumentList.Add(arg);
        }
        if (Password is not null)
        {
            info.ArgumentList.Add("--auth");
            info.ArgumentList.Add("Password");
            info.ArgumentList.Add("--password");
            info.ArgumentList.Add(Password);
        }
        foreach (var arg in _extraArgs)
        {
            info.ArgumentList.Add(arg);
        }
        return info;
    }

    private async Task WaitUntilAnsweringAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        Exception? lastError = null;
        while (deadline.Elapsed < timeout)
        {
            if (_process is not { HasExited: false } process)
            {
                throw new InvalidOperationException(
                    $"{Kind} on port {Port} exited during startup (exit code {_process?.ExitCode}). {InstallHint}\nOutput:\n{Output}");
            }
            try
            {
                using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                using var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.ConnectAsync(IPAddress.Loopback, Port, attempt.Token);
                await socket.SendAsync("PING\r\n"u8.ToArray(), SocketFlags.None, attempt.Token);
                var reply = new byte[64];
                var read = await socket.ReceiveAsync(reply, SocketFlags.None, attempt.Token);
                // +PONG, or -NOAUTH when a password is required: either way the server is serving.
                if (read > 0 && reply[0] is (byte)'+' or (byte)'-')
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                lastError = ex;
            }
            await Task.Delay(100);
        }
        Stop();
        throw new TimeoutException($"{Kind} on port {Port} did not answer PING within {timeout.TotalSeconds:0} s ({lastError?.Message}).\nOutput:\n{Output}");
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            if (_output.Length < 64 * 1024)
            {
                _output.AppendLine(line);
            }
        }
    }

    private static string? FindOnPath(string name)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return File.Exists("/usr/bin/" + name) ? "/usr/bin/" + name : null;
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, ".config", "dotnet-tools.json")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException(
            $"No .config/dotnet-tools.json above {AppContext.BaseDirectory}; Garnet runs from the repository's tool manifest.");
    }
}
