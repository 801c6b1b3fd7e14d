namespace AgentLocator.ServiceDefaults.Alerts;

/// <summary>
/// Tells the operators (<c>Alerts:WebhookUrl</c>, a Slack-compatible incoming webhook) that something failed.
/// At most one alert per kind per <c>Alerts:MinInterval</c>; every alert is counted as a metric whether or not
/// a URL is set. Never blocks and never throws: sending happens in the background, so a failing or slow alert
/// endpoint cannot affect a call.
/// </summary>
public interface IAlerts
{
    /// <summary>Sends <paramref name="text"/> now (e.g. <c>fallback:engine_error</c>, "call CA… fell back to voicemail: engine_error").</summary>
    void Raise(string kind, string text);

    /// <summary>
    /// Counts one occurrence of <paramref name="kind"/>; when <c>Alerts:Threshold</c> of them fall within
    /// <c>Alerts:Window</c>, raises "<paramref name="what"/>: 8 <paramref name="unit"/> in 60 s".
    /// </summary>
    void Count(string kind, string what, string unit);
}
