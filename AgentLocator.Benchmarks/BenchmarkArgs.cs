namespace AgentLocator.Benchmarks;

/// <summary><c>--name value</c> pairs for the benchmarks' options.</summary>
public sealed class BenchmarkArgs
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public static BenchmarkArgs Parse(string[] args)
    {
        var parsed = new BenchmarkArgs();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal))
            {
                var hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
                parsed._values[args[i][2..]] = hasValue ? args[++i] : "true";
            }
        }
        return parsed;
    }

    public string Get(string name, string fallback) => _values.GetValueOrDefault(name, fallback);
}
