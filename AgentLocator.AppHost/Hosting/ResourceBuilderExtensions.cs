namespace AgentLocator.AppHost.Hosting;

public static class ResourceBuilderExtensions
{
    /// <summary>
    /// Adds a .NET project. A relative path is resolved from the AppHost project's folder, as in Aspire;
    /// it may name the folder or the .csproj.
    /// </summary>
    public static IResourceBuilder<ProjectResource> AddProject(this DistributedApplicationBuilder builder, string name, string projectPath)
    {
        var fullPath = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, projectPath));
        if (Directory.Exists(fullPath))
        {
            var projects = Directory.GetFiles(fullPath, "*.csproj");
            fullPath = projects.Length == 1
                ? projects[0]
                : throw new ArgumentException($"Expected exactly one .csproj in '{fullPath}', found {projects.Length}.", nameof(projectPath));
        }
        else if (!File.Exists(fullPath))
        {
            throw new ArgumentException($"Project '{projectPath}' not found (looked for '{fullPath}').", nameof(projectPath));
        }

        return builder.AddResource(new ProjectResource(name, fullPath));
    }

    /// <summary>Serves HTTP on <paramref name="port"/>; 0 (or omitted) picks a free port at start.</summary>
    public static IResourceBuilder<ProjectResource> WithHttpEndpoint(this IResourceBuilder<ProjectResource> builder, int port = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        builder.Resource.Port = port;
        return builder;
    }

    /// <summary>Hands the referenced resource's connection string or endpoint to this one.</summary>
    public static IResourceBuilder<T> WithReference<T>(this IResourceBuilder<T> builder, IResourceBuilder<IResource> source)
        where T : Resource
    {
        if (source.Resource is not (IResourceWithConnectionString or IResourceWithEndpoint))
        {
            throw new ArgumentException($"'{source.Resource.Name}' has neither a connection string nor an endpoint to reference.", nameof(source));
        }

        builder.Resource.References.Add(source.Resource);
        return builder;
    }

    /// <summary>Starts this resource only once <paramref name="dependency"/> is healthy; if it fails, this one does not start.</summary>
    public static IResourceBuilder<T> WaitFor<T>(this IResourceBuilder<T> builder, IResourceBuilder<IResource> dependency)
        where T : Resource
    {
        builder.Resource.WaitsFor.Add(dependency.Resource);
        return builder;
    }

    /// <summary>Sets one environment variable of the resource's process.</summary>
    public static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, string name, string value)
        where T : Resource
    {
        builder.Resource.Environment[name] = value;
        return builder;
    }
}
