using Microsoft.Extensions.Hosting;

namespace AgentLocator.AppHost;

/// <summary>With <c>AppHost:Ephemeral=true</c>, deletes the run's data folder once everything has stopped.</summary>
internal sealed class EphemeralData(AppHostSettings settings, IHostApplicationLifetime lifetime) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (settings.Ephemeral)
        {
            // ApplicationStopped runs after every hosted service stopped, DCP's (and so the servers) included.
            lifetime.ApplicationStopped.Register(() =>
            {
                try
                {
                    if (Directory.Exists(settings.DataDirectory))
                    {
                        Directory.Delete(settings.DataDirectory, recursive: true);
                    }
                }
                catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
                {
                    // Left in the temp folder; never fail a shutdown over it.
                }
            });
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
