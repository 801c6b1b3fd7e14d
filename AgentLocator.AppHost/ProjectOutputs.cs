using System.Reflection;

namespace AgentLocator.AppHost;

/// <summary>
/// Runs a project resource from its build output. Outside an IDE, DCP starts a project with <c>dotnet run --no-build</c>,
/// which evaluates the project with MSBuild on every start before launching it (seconds per project on two busy cores);
/// an <see cref="ExecutableAnnotation"/> on a project resource is Aspire's way of naming the command DCP runs instead. The
/// AppHost's build records each project's assembly (<c>_AgentLocatorProjectOutputs</c> in the .csproj), so the command is
/// the project's own launcher, built in the AppHost's configuration, run from the project folder as <c>dotnet run</c> does.
/// An IDE (debug session), <c>dotnet watch</c> and a missing build output keep Aspire's <c>dotnet run</c>.
/// </summary>
public static class ProjectOutputs
{
    private const string MetadataPrefix = "ProjectOutput:";

    public static IResourceBuilder<ProjectResource> WithBuiltOutput(this IResourceBuilder<ProjectResource> builder)
    {
        var configuration = builder.ApplicationBuilder.Configuration;
        if (!builder.ApplicationBuilder.ExecutionContext.IsRunMode
            || configuration["DEBUG_SESSION_PORT"] is { Length: > 0 }
            || configuration.GetValue("DOTNET_WATCH", false)
            || !configuration.GetValue("AppHost:RunBuiltOutput", true))
        {
            return builder;
        }

        var projectPath = builder.Resource.GetProjectMetadata().ProjectPath;
        if (Launcher(projectPath) is not { } launcher)
        {
            return builder;
        }

        return builder.WithAnnotation(
            new ExecutableAnnotation { Command = launcher, WorkingDirectory = Path.GetDirectoryName(projectPath)! },
            ResourceAnnotationMutationBehavior.Replace);
    }

    /// <summary>The project's built launcher (the apphost beside its assembly), or null when it was not built.</summary>
    public static string? Launcher(string projectPath)
    {
        var assembly = typeof(ProjectOutputs).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == MetadataPrefix + Path.GetFullPath(projectPath))?.Value;
        if (assembly is null)
        {
            return null;
        }

        var launcher = Path.ChangeExtension(assembly, OperatingSystem.IsWindows() ? ".exe" : null);
        return File.Exists(launcher) && File.Exists(assembly) ? launcher : null;
    }
}
