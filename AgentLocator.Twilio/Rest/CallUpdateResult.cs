namespace AgentLocator.Twilio.Rest;

/// <summary>How a call update ended.</summary>
public enum CallUpdateOutcome
{
    /// <summary>Twilio accepted the update.</summary>
    Updated,

    /// <summary>Twilio does not know the call any more (HTTP 404, error 20404): it is gone.</summary>
    CallNotFound,

    /// <summary>The call exists but has ended, so it cannot be redirected (error 21220).</summary>
    CallNotInProgress,
}

/// <summary>The result of <see cref="TwilioRestApi.UpdateCallAsync"/>; other failures throw <see cref="TwilioApiException"/>.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="CallSid">The call updated.</param>
/// <param name="Status">The call status Twilio reported after the update (<c>in-progress</c>, <c>completed</c>, ...), when updated.</param>
/// <param name="Error">Twilio's error when the call is gone.</param>
public sealed record CallUpdateResult(CallUpdateOutcome Outcome, string CallSid, string? Status, TwilioApiException? Error = null)
{
    /// <summary>Whether the call had already ended: nothing left to redirect or hang up.</summary>
    public bool IsCallGone => Outcome != CallUpdateOutcome.Updated;
}
