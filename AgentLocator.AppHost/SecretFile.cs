using System.Security.Cryptography;

namespace AgentLocator.AppHost;

/// <summary>A random secret kept in a file only its owner reads, created on first use and the same on every later run.</summary>
internal static class SecretFile
{
    private static readonly Lock Gate = new();

    /// <summary>The hex secret in <paramref name="path"/>, or a new one of <paramref name="bytes"/> random bytes written there.</summary>
    public static string ReadOrCreate(string path, int bytes)
    {
        lock (Gate)
        {
            if (File.Exists(path) && File.ReadAllText(path).Trim() is { Length: > 0 } existing && existing.Length >= bytes * 2)
            {
                return existing;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(bytes));
            File.WriteAllText(path, secret);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            return secret;
        }
    }
}
