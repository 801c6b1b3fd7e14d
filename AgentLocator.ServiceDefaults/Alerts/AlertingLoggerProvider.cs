using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentLocator.ServiceDefaults.Alerts;

/// <summary>
/// Alerts (kind <c>exception</c>) when an exception is logged at Error or above: the framework's unhandled
/// exception logs (request pipeline, hosted services) and the project's last-line-of-defence handlers.
/// <see cref="IAlerts"/> is resolved on first use, so the logging system does not depend on it at start.
/// </summary>
internal sealed class AlertingLoggerProvider(IServiceProvider services) : ILoggerProvider
{
    private IAlerts? _alerts;

    public ILogger CreateLogger(string categoryName) => new AlertingLogger(this, categoryName);

    public void Dispose()
    {
    }

    private void Alert(string category, Exception exception) =>
        (_alerts ??= services.GetRequiredService<IAlerts>()).Raise(
            "exception", $"unhandled {exception.GetType().Name} in {category}: {exception.Message}");

    private sealed class AlertingLogger(AlertingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (exception is not null && IsEnabled(logLevel) && !category.StartsWith(typeof(AlertSink).Namespace!, StringComparison.Ordinal))
            {
                provider.Alert(category, exception);
            }
        }
    }
}
