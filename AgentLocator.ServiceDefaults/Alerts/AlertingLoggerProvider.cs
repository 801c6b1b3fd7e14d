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

    /// <summary>
    /// Raised off the logging call: raising logs <c>ALERT</c>, and a log written while another is being written
    /// on the same thread resets the [LoggerMessage] state the outer one is still formatting for the providers
    /// after this one (its message would read "(null)").
    /// </summary>
    private void Alert(string category, Exception exception)
    {
        var text = $"unhandled {exception.GetType().Name} in {category}: {exception.Message}";
        ThreadPool.QueueUserWorkItem(static state => state.Provider.Raise(state.Text), (Provider: this, Text: text), preferLocal: false);
    }

    private void Raise(string text)
    {
        try
        {
            (_alerts ??= services.GetRequiredService<IAlerts>()).Raise("exception", text);
        }
        catch (ObjectDisposedException)
        {
            // The host stopped meanwhile: there is no one left to alert, and an alert never fails the process.
        }
    }

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
