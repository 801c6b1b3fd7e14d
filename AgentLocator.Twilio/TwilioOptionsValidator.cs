using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace AgentLocator.Twilio;

/// <summary>
/// Fails start-up when the Twilio secrets are missing outside Development (or when no environment
/// is known), naming the configuration key to set; checks the API address everywhere.
/// </summary>
internal sealed class TwilioOptionsValidator(IHostEnvironment? environment = null) : IValidateOptions<TwilioOptions>
{
    public ValidateOptionsResult Validate(string? name, TwilioOptions options)
    {
        var failures = new List<string>();
        var secretsRequired = environment is null || !environment.IsDevelopment();
        if (secretsRequired && string.IsNullOrWhiteSpace(options.AccountSid))
        {
            failures.Add("Twilio:AccountSid is required (environment variable Twilio__AccountSid).");
        }

        if (secretsRequired && string.IsNullOrWhiteSpace(options.AuthToken))
        {
            failures.Add("Twilio:AuthToken is required (environment variable Twilio__AuthToken).");
        }

        if (options.ApiBaseUrl is not { IsAbsoluteUri: true } url || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            failures.Add($"Twilio:ApiBaseUrl must be an absolute http(s) URL, not '{options.ApiBaseUrl}'.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
