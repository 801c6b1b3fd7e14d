namespace AgentLocator.Benchmarks;

/// <summary>
/// One benchmark the runner can pick by name: <c>dotnet run -c Release --project AgentLocator.Benchmarks -- NAME [options]</c>.
/// Each prints the numbers that docs/benchmarks.md records.
/// </summary>
public interface IBenchmark
{
    string Name { get; }

    string Description { get; }

    Task<int> RunAsync(string[] args, CancellationToken cancellationToken);
}
