using AgentLocator.AppHost.Postgres;
using AgentLocator.AppHost.Processes;
using System.Diagnostics;
using Npgsql;

namespace AgentLocator.Tests.Infrastructure;

/// <summary>
/// A real PostgreSQL server for the test run: <c>ConnectionStrings__agentlocator</c> when
/// given, else a private cluster started from the local binaries in a temporary directory
/// (as an unprivileged user when running as root), torn down when the test process exits.
/// Each test class asks for its own database.
/// </summary>
public sealed class PostgresServer
{
    private static readonly Lazy<Task<PostgresServer>> Shared = new(StartAsync);

    private readonly string _adminConnectionString;
    private readonly string? _dataDir;
    private readonly string? _pgCtl;
    private readonly string? _runAs;

    private PostgresServer(string adminConnectionString, string? dataDir, string? pgCtl, string? runAs)
    {
        _adminConnectionString = adminConnectionString;
        _dataDir = dataDir;
        _pgCtl = pgCtl;
        _runAs = runAs;
    }

    public static Task<PostgresServer> GetAsync() => Shared.Value;

    public string AdminConnectionString => _adminConnectionString;

    /// <summary>Creates an empty database of its own and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string hint)
    {
        var name = "t_" + new string(hint.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).Take(30).ToArray()) + "_" + Guid.NewGuid().ToString("N")[..8];
        await using var connection = new NpgsqlConnection(_adminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(_adminConnectionString) { Database = name, Pooling = true }.ConnectionString;
    }

    private static async Task<PostgresServer> StartAsync()
    {
        var given = Environment.GetEnvironmentVariable("ConnectionStrings__agentlocator");
        if (!string.IsNullOrWhiteSpace(given))
        {
            return new PostgresServer(new NpgsqlConnectionStringBuilder(given) { Database = "postgres" }.ConnectionString, null, null, null);
        }

        var binDir = PostgresBinaries.FindLocalBinDirectory() ?? throw new InvalidOperationException(
            "PostgreSQL server binaries not found (looked for initdb/pg_ctl under /usr/lib/postgresql/*/bin and on PATH). Install the postgresql package (apt-get install postgresql) or set ConnectionStrings__agentlocator.");
        var dataDir = Path.Combine(Path.GetTempPath(), "agentlocator-pg-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dataDir);
        var runAs = Environment.UserName == "root" ? UnixUser.Find("postgres", "nobody")?.Name : null;
        if (runAs is not null)
        {
            await RunAsync("chown", ["-R", runAs, dataDir], null);
        }
        await RunAsync(Path.Combine(binDir, "initdb"), ["-D", Path.Combine(dataDir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"], runAs);
        var pgCtl = Path.Combine(binDir, "pg_ctl");
        var port = await StartOnAFreePortAsync(pgCtl, dataDir, runAs);
        var server = new PostgresServer($"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Timeout=10", dataDir, pgCtl, runAs);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Stop();
        return server;
    }

    /// <summary>
    /// Starts the cluster on a port that was free a moment ago. Another process of the machine (a second test run, a
    /// developer's server) can bind it between the probe and the start, and the shared server is started once per run (its
    /// failure fails every class that uses it), so a start that fails is tried on a new port, twice, and the last failure
    /// carries the server's own log.
    /// </summary>
    private static async Task<int> StartOnAFreePortAsync(string pgCtl, string dataDir, string? runAs)
    {
        var log = Path.Combine(dataDir, "log.txt");
        for (var attempt = 1; ; attempt++)
        {
            var port = PortOwners.GetFreePort();
            var options = $"-p {port} -k {dataDir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300";
            try
            {
                await RunAsync(pgCtl, ["-D", Path.Combine(dataDir, "data"), "-o", options, "-l", log, "-w", "-t", "60", "start"], runAs);
                return port;
            }
            catch (InvalidOperationException ex) when (attempt < 3)
            {
                Console.Error.WriteLine($"PostgreSQL did not start on port {port} (attempt {attempt} of 3), trying another: {ex.Message}");
            }
            catch (InvalidOperationException ex)
            {
                var tail = File.Exists(log) ? string.Join('\n', File.ReadLines(log).TakeLast(20)) : "(no server log)";
                throw new InvalidOperationException($"PostgreSQL did not start in 3 attempts (last port {port}): {ex.Message}\nserver log:\n{tail}", ex);
            }
        }
    }

    private void Stop()
    {
        if (_dataDir is null || _pgCtl is null)
        {
            return;
        }
        try
        {
            RunAsync(_pgCtl, ["-D", Path.Combine(_dataDir, "data"), "-m", "immediate", "-w", "-t", "10", "stop"], _runAs).Wait(TimeSpan.FromSeconds(15));
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or AggregateException or InvalidOperationException)
        {
            // Best effort at exit; the temp directory is unique to this run.
        }
    }

    private static async Task RunAsync(string file, IReadOnlyList<string> args, string? runAs)
    {
        var start = new ProcessStartInfo(runAs is null ? file : "runuser") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (runAs is not null)
        {
            foreach (var a in new[] { "-u", runAs, "--", file })
            {
                start.ArgumentList.Add(a);
            }
        }
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {process.ExitCode}: {await stderr}{await stdout}");
        }
    }
}
