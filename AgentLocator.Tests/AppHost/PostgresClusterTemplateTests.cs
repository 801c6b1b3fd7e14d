using System.Diagnostics;
using AgentLocator.AppHost.Postgres;
using AgentLocator.AppHost.Processes;
using Npgsql;

namespace AgentLocator.Tests.AppHost;

/// <summary>
/// <c>postgres-init</c>'s cluster template (init-cluster.sh): the first new cluster is made by initdb and leaves a template,
/// the next is a copy of it that accepts its own password and not the first one's.
/// </summary>
public sealed class PostgresClusterTemplateTests : IDisposable
{
    private static readonly string Script = Path.Combine(AppContext.BaseDirectory, "Postgres", "init-cluster.sh");

    private readonly string _root = Path.Combine(Path.GetTempPath(), $"agentlocator-template-{Guid.NewGuid():N}"[..36]);

    private readonly string _binaries = PostgresBinaries.FindLocalBinDirectory()
        ?? throw new InvalidOperationException("PostgreSQL server binaries not found: install the postgresql package.");

    private readonly UnixUser? _runAs = UnixUser.ForServer();

    [Fact]
    public async Task ASecondNewClusterIsCopiedFromTheTemplateAndAcceptsOnlyItsOwnPassword()
    {
        var first = await InitAsync("first", "first-password");
        Assert.Contains("kept a template of the new cluster", first);

        var second = await InitAsync("second", "second-password");
        Assert.Contains("from template", second);

        var port = PortOwners.GetFreePort();
        var data = Path.Combine(_root, "second", "data");
        // The socket and the log in the data folder: the one folder the server's user owns.
        await RunAsync(Path.Combine(_binaries, "pg_ctl"), ["-D", data, "-o", $"-p {port} -k {data} -c listen_addresses=127.0.0.1",
            "-l", Path.Combine(data, "log.txt"), "-w", "-t", "60", "start"], _runAs?.Name);
        try
        {
            var connection = $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Pooling=false;Timeout=10";
            await using (var own = new NpgsqlConnection(connection + ";Password=second-password"))
            {
                await own.OpenAsync();
                await using var command = new NpgsqlCommand("SELECT current_user", own);
                Assert.Equal("postgres", await command.ExecuteScalarAsync());
            }

            await using var other = new NpgsqlConnection(connection + ";Password=first-password");
            var refused = await Assert.ThrowsAsync<PostgresException>(() => other.OpenAsync());
            Assert.Equal(PostgresErrorCodes.InvalidPassword, refused.SqlState);
        }
        finally
        {
            await RunAsync(Path.Combine(_binaries, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "-t", "30", "stop"], _runAs?.Name);
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    /// <summary>Runs init-cluster.sh as DCP does (the AppHost's user, the server's user in RUN_AS); returns what it printed.</summary>
    private async Task<string> InitAsync(string name, string password)
    {
        var root = Path.Combine(_root, name);
        Directory.CreateDirectory(root);
        var start = new ProcessStartInfo("/bin/sh", [Script]) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["PGBIN"] = _binaries;
        start.Environment["PGROOT"] = root;
        start.Environment["PGDATA"] = Path.Combine(root, "data");
        start.Environment["POSTGRES_PASSWORD"] = password;
        start.Environment["RUN_AS"] = _runAs?.Name ?? "";
        start.Environment["PGTEMPLATES"] = Path.Combine(_root, "templates");
        return await RunAsync(start);
    }

    private static Task<string> RunAsync(string file, IReadOnlyList<string> arguments, string? runAs)
    {
        var start = new ProcessStartInfo(runAs is null ? file : "runuser") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (runAs is null ? [] : new[] { "-u", runAs, "--", file }).Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }
        return RunAsync(start);
    }

    private static async Task<string> RunAsync(ProcessStartInfo start)
    {
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout + await stderr;
        return process.ExitCode == 0
            ? output
            : throw new InvalidOperationException($"{start.FileName} {string.Join(' ', start.ArgumentList)} exited {process.ExitCode}: {output}");
    }
}
