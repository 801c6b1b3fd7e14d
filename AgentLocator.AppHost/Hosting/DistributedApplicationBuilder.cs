using Microsoft.Extensions.Configuration;

namespace AgentLocator.AppHost.Hosting;

/// <summary>Declares the resource graph, as Aspire's <c>IDistributedApplicationBuilder</c> does.</summary>
public sealed class DistributedApplicationBuilder
{
    private readonly List<IResource> _resources = [];
    private readonly DistributedApplicationTestingHook? _testingHook;

    internal DistributedApplicationBuilder(string[] args)
    {
        _testingHook = DistributedApplicationTestingHook.Current;
        IEnumerable<KeyValuePair<string, string?>> overrides = _testingHook?.Configuration ?? new Dictionary<string, string?>();
        var early = new ConfigurationBuilder().AddEnvironmentVariables().AddCommandLine(args).AddInMemoryCollection(overrides).Build();
        RepositoryRoot = FindRepositoryRoot(early["AppHost:RepoRoot"]);
        AppHostDirectory = Path.Combine(RepositoryRoot, "AgentLocator.AppHost");

        // appsettings.json < environment < command line < test overrides.
        Configuration = new ConfigurationManager();
        Configuration.AddJsonFile(Path.Combine(AppHostDirectory, "appsettings.json"), optional: true, reloadOnChange: false);
        Configuration.AddEnvironmentVariables();
        Configuration.AddCommandLine(args);
        Configuration.AddInMemoryCollection(overrides);
    }

    public ConfigurationManager Configuration { get; }

    /// <summary>The folder holding AgentLocator.sln.</summary>
    public string RepositoryRoot { get; }

    /// <summary>The AppHost project's folder; relative project paths start here.</summary>
    public string AppHostDirectory { get; }

    public IReadOnlyList<IResource> Resources => _resources;

    public IResourceBuilder<T> AddResource<T>(T resource) where T : IResource
    {
        if (_resources.Any(r => r.Name == resource.Name))
        {
            throw new ArgumentException($"A resource named '{resource.Name}' already exists.", nameof(resource));
        }

        _resources.Add(resource);
        return new ResourceBuilder<T>(this, resource);
    }

    public DistributedApplication Build()
    {
        foreach (var resource in _resources.OfType<Resource>())
        {
            foreach (var dependency in resource.WaitsFor.Concat(resource.References))
            {
                if (!_resources.Contains(dependency))
                {
                    throw new DistributedApplicationException($"'{resource.Name}' depends on '{dependency.Name}', which is not in the graph.");
                }
            }
        }

        var options = AppHostOptions.Read(Configuration, RepositoryRoot);
        return new DistributedApplication(
            _resources.ToArray(), options, Configuration, _testingHook?.Log ?? new ResourceLog(), _testingHook);
    }

    private static string FindRepositoryRoot(string? configured)
    {
        if (configured is { Length: > 0 })
        {
            return Path.GetFullPath(configured);
        }

        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "AgentLocator.sln")))
                {
                    return directory.FullName;
                }
            }
        }

        throw new DistributedApplicationException(
            "Could not find AgentLocator.sln above the current directory or the AppHost's binaries; set AppHost:RepoRoot.");
    }
}
