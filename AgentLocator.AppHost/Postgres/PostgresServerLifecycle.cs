using System.Security.Cryptography;
using AgentLocator.AppHost.Hosting;
using AgentLocator.AppHost.Orchestration;
using AgentLocator.AppHost.Processes;
using Npgsql;

namespace AgentLocator.AppHost.Postgres;

/// <summary>
/// Provides the Postgres server: the given connection string (external), or a private server from local or
/// embedded binaries, initialised with a password-authenticated superuser and run unprivileged when we are root.
/// </summary>
internal sealed class PostgresServerLifecycle(AppHostContext context, PostgresServerResource resource) : ResourceLifecycle(context)
{
    public const string SuperUser = "postgres";

    private string? _temporaryRoot;

    public override Resource Resource => resource;

    /// <summary>Connection string of the server's maintenance database (local/embedded), or the given one (external).</summary>
    public string? ServerConnectionString { get; private set; }

    public int Port { get; private set; }

    public string? Password { get; private set; }

    public override IEnumerable<int> FixedPorts =>
        Context.Options.PostgresPort > 0 && ResolveMode() != ProvisioningMode.External ? [Context.Options.PostgresPort] : [];

    public override IEnumerable<string> TemporaryDirectories => _temporaryRoot is null ? [] : [_temporaryRoot];

    /// <summary>The connection string given to the AppHost for the (first) database, if any.</summary>
    public string? ExternalConnectionString =>
        resource.Databases.Select(d => Context.Configuration[$"ConnectionStrings:{d.ConnectionStringName}"])
            .FirstOrDefault(c => !string.IsNullOrWhiteSpace(c));

    public ProvisioningMode ResolveMode() => Context.Options.PostgresMode switch
    {
        ProvisioningMode.Auto when ExternalConnectionString is not null => ProvisioningMode.External,
        ProvisioningMode.Auto => PostgresBinaries.FindLocal() is not null ? ProvisioningMode.Local : ProvisioningMode.Embedded,
        var forced => forced,
    };

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var mode = ResolveMode();
        Mode = mode.ToString().ToLowerInvariant();
        if (mode == ProvisioningMode.External)
        {
            ServerConnectionString = ExternalConnectionString ?? throw new InvalidOperationException(
                $"AppHost:Postgres:Mode is external but no connection string was given: set ConnectionStrings__{resource.Databases.FirstOrDefault()?.ConnectionStringName ?? resource.Name}.");
            Log($"Using the given connection string ({Redact(ServerConnectionString)})");
            return;
        }

        var binDirectory = mode == ProvisioningMode.Local
            ? PostgresBinaries.FindLocal() ?? throw new InvalidOperationException(
                "AppHost:Postgres:Mode is local but no postgres/initdb was found on PATH or under /usr/lib/postgresql/*/bin (apt-get install postgresql).")
            : await PostgresBinaries.InstallEmbeddedAsync(Context, resource.Name, cancellationToken);
        var binaries = await PostgresBinaries.InspectAsync(Context, resource.Name, binDirectory, cancellationToken);

        var root = resource.PersistentData && !Context.Options.Ephemeral
            ? Path.Combine(Context.Options.DataDirectory, resource.Name)
            : _temporaryRoot = Path.Combine(Context.Options.DataDirectory, "tmp", $"{resource.Name}-{Context.Metadata.DeployId}");
        // One data folder per major version: a cluster initialised by Postgres 15 cannot be opened by 17.
        var dataDirectory = Path.Combine(root, $"data-{binaries.MajorVersion}");
        Directory.CreateDirectory(root);
        MakeTraversable(Context.Options.DataDirectory, root);

        var user = Posix.IsRoot
            ? UnixUser.Find("postgres", "nobody") ?? throw new InvalidOperationException("Running as root, but neither a 'postgres' nor a 'nobody' user exists to run Postgres as.")
            : null;
        Password = ReadOrCreatePassword(Path.Combine(root, "password"));

        if (!File.Exists(Path.Combine(dataDirectory, "PG_VERSION")))
        {
            await InitializeClusterAsync(binaries, root, dataDirectory, user, cancellationToken);
        }
        else if (user is not null)
        {
            await ChownAsync(user, dataDirectory, cancellationToken);
        }

        Port = Context.Options.PostgresPort > 0 ? Context.Options.PostgresPort : PortOwners.GetFreePort();
        var arguments = new List<string>
        {
            "-D", dataDirectory, "-p", $"{Port}",
            "-c", "listen_addresses=127.0.0.1",
            "-c", "unix_socket_directories=",
        };
        if (Context.Options.Ephemeral || !resource.PersistentData)
        {
            // Throw-away data: trade durability for speed.
            arguments.AddRange(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]);
        }

        Log($"Starting PostgreSQL {binaries.MajorVersion} ({Mode}, {binaries.BinDirectory}) on 127.0.0.1:{Port}, data in {dataDirectory}{(user is null ? "" : $", as user '{user.Name}'")}");
        Process = await ChildProcess.StartAsync(resource.Name, new ChildProcessSpec(binaries.Postgres, arguments)
        {
            RunAsUser = user,
            WorkingDirectory = root,
            // SIGINT is Postgres's "fast shutdown": it does not wait for clients to disconnect.
            StopSignal = Posix.SIGINT,
        }, Context.Log);
        ServerConnectionString = BuildConnectionString("postgres");
    }

    public string BuildConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = SuperUser,
            Password = Password,
            Database = database,
        }.ConnectionString;

    public override async Task<string?> CheckHealthAsync(CancellationToken cancellationToken) =>
        await PostgresHealth.CheckAsync(ServerConnectionString!, cancellationToken);

    public static string Redact(string connectionString)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            if (!string.IsNullOrEmpty(builder.Password))
            {
                builder.Password = "***";
            }

            return builder.ConnectionString;
        }
        catch (ArgumentException)
        {
            return "(unparsable connection string)";
        }
    }

    private async Task InitializeClusterAsync(
        PostgresBinaries binaries, string root, string dataDirectory, UnixUser? user, CancellationToken cancellationToken)
    {
        Log($"Initialising a new cluster in {dataDirectory}");
        Directory.CreateDirectory(dataDirectory);
        var passwordFile = Path.Combine(root, $"pwfile-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(passwordFile, Password, cancellationToken);
        RestrictToOwner(passwordFile);
        try
        {
            if (user is not null)
            {
                await ChownAsync(user, dataDirectory, cancellationToken);
                await ChownAsync(user, passwordFile, cancellationToken);
            }

            var (exitCode, output) = await Context.RunToolAsync(
                resource.Name, binaries.InitDb,
                ["-D", dataDirectory, "-U", SuperUser, $"--pwfile={passwordFile}", "--auth=scram-sha-256",
                 "--encoding=UTF8", "--no-locale", "--no-sync"],
                cancellationToken, workingDirectory: root, runAsUser: user);
            if (exitCode != 0)
            {
                Directory.Delete(dataDirectory, recursive: true);
                throw new InvalidOperationException($"initdb failed (exit {exitCode}): {LastLines(output)}");
            }
        }
        finally
        {
            File.Delete(passwordFile);
        }
    }

    private async Task ChownAsync(UnixUser user, string path, CancellationToken cancellationToken)
    {
        var (exitCode, output) = await Context.RunToolAsync(
            resource.Name, "chown", ["-R", $"{user.Uid}:{user.Gid}", path], cancellationToken);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"chown {user.Name} {path} failed: {output.Trim()}");
        }
    }

    /// <summary>The unprivileged server must reach its data folder through every folder we created.</summary>
    private static void MakeTraversable(string top, string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        const UnixFileMode Traversable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        for (var directory = new DirectoryInfo(path); directory is not null; directory = directory.Parent)
        {
            var mode = File.GetUnixFileMode(directory.FullName);
            File.SetUnixFileMode(directory.FullName, mode | Traversable);
            if (string.Equals(directory.FullName.TrimEnd('/'), top.TrimEnd('/'), StringComparison.Ordinal))
            {
                break;
            }
        }
    }

    private static string ReadOrCreatePassword(string path)
    {
        if (File.Exists(path))
        {
            return File.ReadAllText(path).Trim();
        }

        var password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        File.WriteAllText(path, password);
        RestrictToOwner(path);
        return password;
    }

    private static void RestrictToOwner(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    internal static string LastLines(string output, int count = 8) =>
        string.Join(" | ", output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(count));
}
