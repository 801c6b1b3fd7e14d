using AgentLocator.AppHost.Hosting;
using Microsoft.Extensions.Configuration;

namespace AgentLocator.AppHost.Orchestration;

/// <summary>What every lifecycle needs: settings, configuration, log, build metadata and the other resources.</summary>
internal sealed class AppHostContext(
    AppHostOptions options,
    IConfiguration configuration,
    ResourceLog log,
    BuildMetadata metadata)
{
    public AppHostOptions Options { get; } = options;

    public IConfiguration Configuration { get; } = configuration;

    public ResourceLog Log { get; } = log;

    public BuildMetadata Metadata { get; } = metadata;

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(3) };

    public Dictionary<IResource, ResourceLifecycle> Lifecycles { get; } = [];

    public ResourceLifecycle LifecycleOf(IResource resource) => Lifecycles[resource];

    /// <summary>Runs a short command to completion, logging its output under <paramref name="resource"/>.</summary>
    public async Task<(int ExitCode, string Output)> RunToolAsync(
        string resource, string fileName, IEnumerable<string> arguments, CancellationToken cancellationToken,
        string? workingDirectory = null, Processes.UnixUser? runAsUser = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var output = new System.Text.StringBuilder();
        var spec = new Processes.ChildProcessSpec(fileName, arguments.ToArray())
        {
            WorkingDirectory = workingDirectory,
            RunAsUser = runAsUser,
            Environment = environment ?? new Dictionary<string, string?>(),
        };
        var tool = new ResourceLog { WriteToConsole = false };
        tool.LineWritten += line =>
        {
            lock (output)
            {
                output.AppendLine(line.Text);
            }

            Log.Write(resource, line.Text, line.IsError);
        };
        await using var process = await Processes.ChildProcess.StartAsync(resource, spec, tool);
        int exitCode;
        try
        {
            exitCode = await process.Exited.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw;
        }

        lock (output)
        {
            return (exitCode, output.ToString());
        }
    }
}
