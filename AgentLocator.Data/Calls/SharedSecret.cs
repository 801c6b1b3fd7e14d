using Microsoft.Extensions.Configuration;

namespace AgentLocator.Data.Calls;

/// <summary>
/// The secret Api and MediaWorker share for what they sign for each other (stream tokens, audio
/// links): <c>MediaStream:TokenSecret</c>, else <c>Twilio:AuthToken</c>. Each use derives its own key from it.
/// </summary>
public static class SharedSecret
{
    public static string Resolve(IConfiguration configuration, string purpose)
    {
        var secret = configuration["MediaStream:TokenSecret"];
        if (string.IsNullOrEmpty(secret))
        {
            secret = configuration["Twilio:AuthToken"];
        }
        return string.IsNullOrEmpty(secret)
            ? throw new InvalidOperationException($"Set MediaStream:TokenSecret (or Twilio:AuthToken): {purpose} are keyed with it.")
            : secret;
    }
}
