using System.Diagnostics;
using System.Diagnostics.Metrics;
using AgentLocator.ServiceDefaults.Alerts;
using AgentLocator.ServiceDefaults.Hosting;

namespace AgentLocator.ServiceDefaults.Telemetry;

/// <summary>
/// The one <see cref="ActivitySource"/> and <see cref="Meter"/> of a service, named <c>AgentLocator.&lt;service&gt;</c>,
/// and the call's instruments: calls, turns, reply latency, fallbacks by reason, webhook errors by kind and
/// signature rejections, webhooks shed under load. What an operator must hear about (a dependency failing webhooks, forged webhooks, shedding,
/// a call that fell back for a technical reason) also goes to <see cref="IAlerts"/>.
/// </summary>
public sealed class ServiceTelemetry
{
    /// <summary>A fallback the caller chose (pressing <c>*</c>); every other reason is a technical one.</summary>
    public const string CallerRequest = "caller_request";

    private readonly IAlerts _alerts;
    private readonly Counter<long> _calls;
    private readonly Counter<long> _turns;
    private readonly Histogram<double> _replyLatency;
    private readonly Counter<long> _fallbacks;
    private readonly Counter<long> _webhookErrors;
    private readonly Counter<long> _signatureRejections;
    private readonly Counter<long> _writesDropped;
    private readonly Counter<long> _webhooksShed;

    public ServiceTelemetry(IMeterFactory meters, BuildInfo build, IAlerts alerts)
    {
        ArgumentNullException.ThrowIfNull(meters);
        ArgumentNullException.ThrowIfNull(build);
        _alerts = alerts;
        Name = NameOf(build.Service);
        ActivitySource = new ActivitySource(Name, build.Commit);
        Meter = meters.Create(Name, build.Commit);
        _calls = Meter.CreateCounter<long>("agentlocator.calls", "{call}", "Incoming calls, by outcome (answered, not_in_service).");
        _turns = Meter.CreateCounter<long>("agentlocator.turns", "{turn}", "Caller turns answered by the bot.");
        _replyLatency = Meter.CreateHistogram<double>("agentlocator.reply.latency", "ms", "From the caller's end of speech to the bot's first reply audio.");
        _fallbacks = Meter.CreateCounter<long>("agentlocator.fallbacks", "{call}", "Calls sent to voicemail, by reason.");
        _webhookErrors = Meter.CreateCounter<long>("agentlocator.webhook.errors", "{error}", "Webhooks answered without a dependency, by kind (postgres, unexpected).");
        _writesDropped = Meter.CreateCounter<long>("agentlocator.deferred_writes.dropped", "{write}",
            "Writes held for an unreachable database that were given up, by reason (queue_full, failing, stopping): each is logged in full.");
        _webhooksShed = Meter.CreateCounter<long>("agentlocator.webhooks.shed", "{request}",
            "Webhooks answered at once past the service's capacity (the degraded answer, writes deferred), by webhook and reason (queue_full, wait).");
        _signatureRejections = Meter.CreateCounter<long>("agentlocator.webhook.signature_rejections", "{request}", "Webhooks refused for a missing or invalid X-Twilio-Signature.");
    }

    /// <summary><c>AgentLocator.&lt;service&gt;</c>.</summary>
    public string Name { get; }

    public ActivitySource ActivitySource { get; }

    public Meter Meter { get; }

    /// <summary>The ActivitySource and Meter name of a service.</summary>
    public static string NameOf(string service) => "AgentLocator." + service;

    public void CallStarted(string outcome) => _calls.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    public void TurnAnswered(TimeSpan replyLatency)
    {
        _turns.Add(1);
        _replyLatency.Record(replyLatency.TotalMilliseconds);
    }

    /// <summary>A call went to voicemail; a technical reason (anything but <see cref="CallerRequest"/>) is alerted.</summary>
    public void Fallback(string reason, string callSid)
    {
        _fallbacks.Add(1, new KeyValuePair<string, object?>("reason", reason));
        if (reason != CallerRequest)
        {
            _alerts.Raise("fallback:" + reason, $"call {callSid} fell back to voicemail: {reason}");
        }
    }

    /// <summary>A webhook answered without a dependency (<paramref name="kind"/>: <c>postgres</c>, <c>unexpected</c>); alerted past a threshold.</summary>
    public void WebhookError(string kind, string what)
    {
        _webhookErrors.Add(1, new KeyValuePair<string, object?>("kind", kind));
        _alerts.Count("webhook_error:" + kind, what, "webhook errors");
    }

    /// <summary>A write held for the database was given up (<paramref name="reason"/>: <c>queue_full</c>, <c>failing</c>, <c>stopping</c>); always alerted.</summary>
    public void DeferredWriteDropped(string reason, string what)
    {
        _writesDropped.Add(1, new KeyValuePair<string, object?>("reason", reason));
        _alerts.Raise("deferred_write_dropped:" + reason, $"a database write was given up ({reason}): {what}; rebuild it from the WEBHOOK_ERROR log");
    }

    /// <summary>
    /// A webhook shed under load (<paramref name="reason"/>: <c>queue_full</c>, or <c>wait</c> when no slot came within the wait budget);
    /// alerted past a threshold.
    /// </summary>
    public void WebhookShed(string webhook, string reason)
    {
        _webhooksShed.Add(1, new KeyValuePair<string, object?>("webhook", webhook), new KeyValuePair<string, object?>("reason", reason));
        _alerts.Count("webhook_shed", "webhooks shed under load (answered at once without their database work, writes deferred)", "webhooks shed");
    }

    /// <summary>A webhook refused for its signature; alerted past a threshold.</summary>
    public void SignatureRejected(string reason)
    {
        _signatureRejections.Add(1, new KeyValuePair<string, object?>("reason", reason));
        _alerts.Count("signature_rejected", "webhooks refused for their X-Twilio-Signature", "signature rejections");
    }
}
