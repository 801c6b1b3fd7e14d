using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;

namespace AgentLocator.AppHost;

/// <summary>What each service reports on /version: <c>GIT_COMMIT</c>, <c>BUILD_TIME</c>, <c>DEPLOY_ID</c>.</summary>
public sealed record BuildMetadata(string Commit, string BuildTime, string DeployId)
{
    public static BuildMetadata Create(string repositoryRoot, DateTimeOffset now) =>
        new(ReadCommit(repositoryRoot),
            now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            $"{now.UtcDateTime.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture)}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}");

    /// <summary><c>git rev-parse HEAD</c>, plus <c>-dirty</c> when the work tree has changes; <c>unknown</c> outside git.</summary>
    public static string ReadCommit(string repositoryRoot)
    {
        var head = Git(repositoryRoot, "rev-parse", "HEAD");
        if (head is not { Length: 40 })
        {
            return "unknown";
        }

        var status = Git(repositoryRoot, "status", "--porcelain");
        return status is { Length: > 0 } ? $"{head}-dirty" : head;
    }

    private static string? Git(string workingDirectory, params string[] arguments)
    {
        try
        {
            var startInfo = new ProcessStartInfo("git")
            {
                WorkingDirectory = workingDirectory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in arguments)
            {
                startInfo.ArgumentList.Add(argument);
            }

            using var git = Process.Start(startInfo)!;
            var output = git.StandardOutput.ReadToEnd();
            git.StandardError.ReadToEnd();
            git.WaitForExit();
            return git.ExitCode == 0 ? output.Trim() : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
