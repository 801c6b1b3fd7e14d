namespace AgentLocator.Api.Webhooks;

/// <summary>Reading Twilio's form fields the same way in every webhook.</summary>
public static class WebhookForm
{
    /// <summary>The field's value, or null when it is missing or empty.</summary>
    public static string? Field(this IFormCollection form, string name)
    {
        var value = form[name].ToString();
        return string.IsNullOrEmpty(value) ? null : value;
    }

    /// <summary>A Twilio SID as we accept it: 2 to 64 ASCII letters and digits (CA…, SM…, RE…, or a smoke prefix).</summary>
    public static bool IsSid(string? value) => value is { Length: >= 2 and <= 64 } && value.All(char.IsAsciiLetterOrDigit);
}
