namespace AgentLocator.AppHost.Hosting;

/// <summary>A named node of the application graph.</summary>
public interface IResource
{
    string Name { get; }
}

/// <summary>A resource that other resources reach through <c>ConnectionStrings__{ConnectionStringName}</c>.</summary>
public interface IResourceWithConnectionString : IResource
{
    string ConnectionStringName { get; }
}

/// <summary>A resource whose HTTP endpoint is handed to referencing resources as <c>services__{name}__http__0</c>.</summary>
public interface IResourceWithEndpoint : IResource;

/// <summary>Base of every resource: a name, what it waits for and what it references.</summary>
public abstract class Resource(string name) : IResource
{
    public string Name { get; } = ResourceNames.Validate(name);

    /// <summary>Resources that must be healthy before this one starts.</summary>
    public List<IResource> WaitsFor { get; } = [];

    /// <summary>Resources whose connection string or endpoint this one receives.</summary>
    public List<IResource> References { get; } = [];

    /// <summary>Extra environment variables declared with <c>WithEnvironment</c>.</summary>
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    public override string ToString() => Name;
}

internal static class ResourceNames
{
    public static string Validate(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
        {
            throw new ArgumentException($"Resource name '{name}' must be lowercase letters, digits and '-'.", nameof(name));
        }

        return name;
    }
}
