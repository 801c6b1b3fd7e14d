namespace AgentLocator.AppHost.Postgres;

/// <summary>An account from /etc/passwd that a server runs as when the AppHost runs as root (Postgres refuses root).</summary>
public sealed record UnixUser(string Name, int Uid, int Gid)
{
    /// <summary><c>postgres</c>, else <c>nobody</c>, when the AppHost is root; null (run as ourselves) otherwise.</summary>
    public static UnixUser? ForServer() =>
        Environment.IsPrivilegedProcess
            ? Find("postgres", "nobody") ?? throw new DistributedApplicationException(
                "The AppHost runs as root, but neither a 'postgres' nor a 'nobody' user exists to run Postgres as.")
            : null;

    /// <summary>The first of <paramref name="names"/> that exists.</summary>
    public static UnixUser? Find(params string[] names)
    {
        var entries = File.Exists("/etc/passwd") ? File.ReadAllLines("/etc/passwd") : [];
        foreach (var name in names)
        {
            foreach (var entry in entries)
            {
                var fields = entry.Split(':');
                if (fields.Length >= 4 && fields[0] == name
                    && int.TryParse(fields[2], out var uid) && int.TryParse(fields[3], out var gid))
                {
                    return new UnixUser(name, uid, gid);
                }
            }
        }

        return null;
    }
}
