using System.Security.Cryptography;

namespace AgentLocator.AppHost.Postgres;

/// <summary>
/// Where a private cluster lives: <c>&lt;root&gt;/password</c> (the superuser's generated password) and
/// <c>&lt;root&gt;/data-&lt;major&gt;</c> (one folder per major version: a cluster initialised by 15 cannot be opened by 17).
/// </summary>
public sealed record PostgresCluster(PostgresBinaries Binaries, string Root, UnixUser? RunAs, bool Durable)
{
    private static readonly Lock PasswordGate = new();

    public string DataDirectory => Path.Combine(Root, $"data-{Binaries.MajorVersion}");

    public string PasswordFile => Path.Combine(Root, "password");

    /// <summary>The password kept beside the data, so a persisted cluster keeps accepting it; created on first use.</summary>
    public string ReadOrCreatePassword()
    {
        lock (PasswordGate)
        {
            if (File.Exists(PasswordFile) && File.ReadAllText(PasswordFile).Trim() is { Length: >= 16 } existing)
            {
                return existing;
            }

            // Others may traverse the folders (the server runs as another user); only the password file is private.
            Directory.CreateDirectory(Root);
            var password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            File.WriteAllText(PasswordFile, password);
            if (!OperatingSystem.IsWindows())
            {
                foreach (var folder in new[] { Path.GetDirectoryName(Root)!, Root })
                {
                    File.SetUnixFileMode(folder, File.GetUnixFileMode(folder) | Traversable);
                }

                File.SetUnixFileMode(PasswordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            return password;
        }
    }

    private const UnixFileMode Traversable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
}
