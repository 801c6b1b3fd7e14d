using Microsoft.Extensions.Hosting;

namespace AgentLocator.Twilio;

/// <summary>Twilio account settings, bound from the <c>Twilio</c> configuration section (<c>Twilio__AccountSid</c>, ...).</summary>
public sealed class TwilioOptions
{
    /// <summary>The configuration section these options are bound from.</summary>
    public const string SectionName = "Twilio";

    /// <summary>The production REST API address.</summary>
    public static readonly Uri DefaultApiBaseUrl = new("https://api.twilio.com");

    /// <summary>The account SID (<c>AC...</c>); the user name of REST calls.</summary>
    public string AccountSid { get; set; } = string.Empty;

    /// <summary>The auth token: the password of REST calls and the key of webhook signatures. Never log it.</summary>
    public string AuthToken { get; set; } = string.Empty;

    /// <summary>The REST API base address; tests point it at a local fake.</summary>
    public Uri ApiBaseUrl { get; set; } = DefaultApiBaseUrl;

    /// <summary>Whether webhooks must carry a valid signature; <see langword="null"/> means on outside Development.</summary>
    public bool? ValidateSignatures { get; set; }

    /// <summary>Resolves <see cref="ValidateSignatures"/> for an environment.</summary>
    public bool ShouldValidateSignatures(IHostEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return ValidateSignatures ?? !environment.IsDevelopment();
    }
}
