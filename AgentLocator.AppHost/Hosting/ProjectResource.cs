namespace AgentLocator.AppHost.Hosting;

/// <summary>A .NET project built once and run as <c>dotnet &lt;dll&gt;</c>.</summary>
public sealed class ProjectResource(string name, string projectPath) : Resource(name), IResourceWithEndpoint
{
    /// <summary>Full path of the .csproj.</summary>
    public string ProjectPath { get; } = projectPath;

    /// <summary>The HTTP port; 0 picks a free one at start.</summary>
    public int Port { get; internal set; }
}
