using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AgentLocator.Data.Jobs;

public static class JobExtensions
{
    public static IServiceCollection AddJobQueue(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<JobOptions>().BindConfiguration(JobOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<JobSignal>();
        services.AddSingleton<JobWorker>();
        services.AddHostedService<Microsoft.Extensions.Hosting.IHostedService>(sp => sp.GetRequiredService<IOptions<JobOptions>>().Value.Enabled
            ? (Microsoft.Extensions.Hosting.IHostedService)sp.GetRequiredService<JobWorker>()
            : new DisabledService());
        return services;
    }

    public static IServiceCollection AddJobHandler<THandler>(this IServiceCollection services) where THandler : class, IJobHandler =>
        services.AddSingleton<IJobHandler, THandler>();

    private sealed class DisabledService : Microsoft.Extensions.Hosting.IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
