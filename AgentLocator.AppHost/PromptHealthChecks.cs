using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AgentLocator.AppHost;

/// <summary>
/// Sees a starting resource healthy within a tenth of a second of it answering. Aspire checks a resource that is not yet
/// healthy again after 1, 2, 3, 4 and then every 5 seconds, so a server or service that starts answering just after a check
/// is seen up to 5 s later, and everything that waits for it starts that much later (Redis, then Postgres, then the
/// services: up to 5 s at each step). Until a resource's check has first passed, each of Aspire's checks tries it every
/// <see cref="PollInterval"/> for up to <see cref="PollWindow"/> before reporting the failure; once it has passed, the check
/// runs once, as before, so a resource that goes down later is reported at once.
/// </summary>
public static class PromptHealthChecks
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    public static readonly TimeSpan PollWindow = TimeSpan.FromSeconds(20);

    /// <summary>Applies to every health check the AppHost registers (the resources' checks, Aspire's and ours).</summary>
    public static IDistributedApplicationBuilder AddPromptHealthChecks(this IDistributedApplicationBuilder builder)
    {
        builder.Services.AddPromptHealthChecks();
        return builder;
    }

    public static IServiceCollection AddPromptHealthChecks(this IServiceCollection services)
    {
        services.PostConfigure<HealthCheckServiceOptions>(options =>
        {
            foreach (var registration in options.Registrations)
            {
                // The health check service creates the check anew for every run: what it learnt lives beside the factory.
                var check = registration.Factory;
                var passed = new PassedOnce();
                registration.Factory = provider => new UntilFirstPass(check(provider), passed);
            }
        });
        return services;
    }

    private sealed class PassedOnce
    {
        public volatile bool Value;
    }

    private sealed class UntilFirstPass(IHealthCheck check, PassedOnce passed) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            if (passed.Value)
            {
                return await check.CheckHealthAsync(context, cancellationToken).ConfigureAwait(false);
            }

            var timeout = context.Registration.Timeout;
            var window = timeout == Timeout.InfiniteTimeSpan || timeout > PollWindow ? PollWindow : timeout * 0.9;
            var deadline = DateTime.UtcNow + window;
            while (true)
            {
                HealthCheckResult result;
                try
                {
                    result = await check.CheckHealthAsync(context, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
                {
                    result = new HealthCheckResult(context.Registration.FailureStatus, exception.Message, exception);
                }

                if (result.Status == HealthStatus.Healthy)
                {
                    passed.Value = true;
                    return result;
                }

                if (DateTime.UtcNow + PollInterval >= deadline)
                {
                    return result;
                }

                await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
