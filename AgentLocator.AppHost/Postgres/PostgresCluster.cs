namespace AgentLocator.AppHost.Postgres;

/// <summary>
/// Where a private cluster lives: <c>&lt;root&gt;/password</c> (the superuser's generated password) and
/// <c>&lt;root&gt;/data-&lt;major&gt;</c> (one folder per major version: a cluster initialised by 15 cannot be opened by 17).
/// </summary>
public sealed record PostgresCluster(PostgresBinaries Binaries, string Root, UnixUser? RunAs, bool Durable)
{
    /// <summary>Where the init resource keeps a template of a new cluster and copies the next new ones from; null: initdb each time.</summary>
    public string? TemplatesDirectory { get; init; }

    public string DataDirectory => Path.Combine(Root, $"data-{Binaries.MajorVersion}");

    public string PasswordFile => Path.Combine(Root, "password");

    /// <summary>The password kept beside the data, so a persisted cluster keeps accepting it; created on first use.</summary>
    public string ReadOrCreatePassword()
    {
        var password = SecretFile.ReadOrCreate(PasswordFile, bytes: 16);
        if (!OperatingSystem.IsWindows())
        {
            // The server runs as another user when the AppHost is root: it must traverse the folders (not read the password).
            foreach (var folder in new[] { Path.GetDirectoryName(Root)!, Root })
            {
                File.SetUnixFileMode(folder, File.GetUnixFileMode(folder) | Traversable);
            }
        }

        return password;
    }

    private const UnixFileMode Traversable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
}
