namespace AgentLocator.Tests.Twilio;

/// <summary>Finds the repository root by walking up from the test binaries to <c>AgentLocator.sln</c>.</summary>
internal static class RepositoryRoot
{
    public static string Path { get; } = Find();

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "AgentLocator.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"AgentLocator.sln not found above {AppContext.BaseDirectory}.");
    }
}
