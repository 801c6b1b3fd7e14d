using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using Microsoft.Extensions.Configuration;

namespace AgentLocator.AppHost;

/// <summary>
/// Whether Aspire's container resources can run here: the runtime Aspire would use (<c>ASPIRE_CONTAINER_RUNTIME</c>,
/// else docker, else podman) answers <c>info</c>. Decided before any resource is declared, because a container
/// resource without a runtime sits in "Runtime unhealthy" and everything waiting for it waits forever.
/// </summary>
public static class ContainerRuntime
{
    private static readonly TimeSpan InfoTimeout = TimeSpan.FromSeconds(10);
    private static readonly ConcurrentDictionary<string, bool> Answers = new(StringComparer.Ordinal);

    public static bool IsAvailable(IConfiguration configuration)
    {
        if ((configuration["ASPIRE_CONTAINER_RUNTIME"] ?? configuration["DOTNET_ASPIRE_CONTAINER_RUNTIME"]) is { Length: > 0 } chosen)
        {
            return Answers.GetOrAdd(chosen, AnswersInfo);
        }

        if (Answers.GetOrAdd("docker", AnswersInfo))
        {
            return true;
        }

        if (Answers.GetOrAdd("podman", AnswersInfo))
        {
            // Aspire defaults to docker: tell it which runtime answered.
            configuration["ASPIRE_CONTAINER_RUNTIME"] = "podman";
            return true;
        }

        return false;
    }

    private static bool AnswersInfo(string runtime)
    {
        try
        {
            using var info = Process.Start(new ProcessStartInfo(runtime, ["info", "--format", "{{.ServerVersion}}"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            })!;
            _ = info.StandardOutput.ReadToEndAsync();
            _ = info.StandardError.ReadToEndAsync();
            if (!info.WaitForExit(InfoTimeout))
            {
                info.Kill(entireProcessTree: true);
                return false;
            }

            return info.ExitCode == 0;
        }
        catch (Win32Exception)
        {
            // Not installed.
            return false;
        }
    }
}
