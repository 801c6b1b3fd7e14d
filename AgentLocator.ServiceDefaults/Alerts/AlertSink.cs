using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net.Http.Json;
using System.Threading.Channels;
using AgentLocator.ServiceDefaults.Hosting;
using AgentLocator.ServiceDefaults.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentLocator.ServiceDefaults.Alerts;

/// <summary>
/// The <see cref="IAlerts"/> of a service: rate-limits per kind, counts threshold kinds over a sliding window,
/// and posts to <c>Alerts:WebhookUrl</c> from a bounded background queue (full: the alert is dropped and
/// counted, never waited for). Each alert names the service, commit and deploy id.
/// </summary>
public sealed partial class AlertSink : BackgroundService, IAlerts
{
    public const string HttpClientName = "alerts";

    private readonly Channel<(string Kind, string Text)> _queue =
        Channel.CreateBounded<(string, string)>(new BoundedChannelOptions(64) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
    private readonly Dictionary<string, DateTimeOffset> _lastRaised = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _occurrences = new(StringComparer.Ordinal);
    private readonly IHttpClientFactory _httpClients;
    private readonly IOptionsMonitor<AlertOptions> _options;
    private readonly BuildInfo _build;
    private readonly TimeProvider _clock;
    private readonly ILogger<AlertSink> _logger;
    private readonly Counter<long> _alerts;

    public AlertSink(IHttpClientFactory httpClients, IOptionsMonitor<AlertOptions> options, BuildInfo build, TimeProvider clock,
        IMeterFactory meters, ILogger<AlertSink> logger)
    {
        _httpClients = httpClients;
        _options = options;
        _build = build;
        _clock = clock;
        _logger = logger;
        _alerts = meters.Create(ServiceTelemetry.NameOf(build.Service), build.Commit).CreateCounter<long>(
            "agentlocator.alerts", "{alert}", "Alerts raised, by kind and outcome (sent, failed, no_url, suppressed, dropped).");
    }

    public void Raise(string kind, string text)
    {
        var now = _clock.GetUtcNow();
        var interval = _options.CurrentValue.MinInterval;
        bool allowed;
        lock (_lastRaised)
        {
            allowed = !_lastRaised.TryGetValue(kind, out var last) || now - last >= interval;
            if (allowed)
            {
                _lastRaised[kind] = now;
            }
        }

        if (!allowed)
        {
            Counted(kind, "suppressed");
            return;
        }

        var message = $"{text} — {_build.Service}, commit {ShortCommit(_build.Commit)}, deploy {_build.DeployId}";
        LogAlert(_logger, kind, message);
        // TryWrite never waits: with the queue full (the endpoint is slow) the alert is dropped and counted.
        if (!_queue.Writer.TryWrite((kind, message)))
        {
            Counted(kind, "dropped");
        }
    }

    public void Count(string kind, string what, string unit)
    {
        var options = _options.CurrentValue;
        var now = _clock.GetUtcNow();
        var times = _occurrences.GetOrAdd(kind, _ => new Queue<DateTimeOffset>());
        int count;
        lock (times)
        {
            times.Enqueue(now);
            while (times.Count > 0 && now - times.Peek() > options.Window)
            {
                times.Dequeue();
            }

            count = times.Count;
            if (count >= options.Threshold)
            {
                times.Clear();
            }
        }

        if (count >= options.Threshold)
        {
            Raise(kind, $"{what}: {count} {unit} in {options.Window.TotalSeconds:0} s");
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var (kind, text) in _queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            var options = _options.CurrentValue;
            if (string.IsNullOrWhiteSpace(options.WebhookUrl))
            {
                Counted(kind, "no_url");
                continue;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            timeout.CancelAfter(options.Timeout);
            try
            {
                using var response = await _httpClients.CreateClient(HttpClientName)
                    .PostAsJsonAsync(options.WebhookUrl, new { text }, timeout.Token).ConfigureAwait(false);
                response.EnsureSuccessStatusCode();
                Counted(kind, "sent");
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // The endpoint is down, slow or refusing: the alert is lost, the service goes on.
                Counted(kind, "failed");
                LogAlertFailed(_logger, kind, ex.Message);
            }
        }
    }

    private void Counted(string kind, string outcome) =>
        _alerts.Add(1, new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("outcome", outcome));

    private static string ShortCommit(string commit) => commit.Length > 12 ? commit[..12] : commit;

    [LoggerMessage(EventId = 1101, EventName = "ALERT", Level = LogLevel.Warning, Message = "ALERT {Kind}: {Text}")]
    private static partial void LogAlert(ILogger logger, string kind, string text);

    [LoggerMessage(EventId = 1102, EventName = "ALERT_FAILED", Level = LogLevel.Warning, Message = "ALERT_FAILED {Kind}: the alert webhook did not take it: {Error}")]
    private static partial void LogAlertFailed(ILogger logger, string kind, string error);
}
