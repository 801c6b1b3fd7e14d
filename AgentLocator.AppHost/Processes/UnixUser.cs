namespace AgentLocator.AppHost.Processes;

/// <summary>An account from /etc/passwd that a server runs as when the AppHost runs as root.</summary>
internal sealed record UnixUser(string Name, int Uid, int Gid)
{
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
