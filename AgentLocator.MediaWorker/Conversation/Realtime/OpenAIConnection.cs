using System.Data.Common;

namespace AgentLocator.MediaWorker.Conversation.Realtime;

/// <summary>
/// <c>ConnectionStrings:openai</c> in Aspire's format: <c>Endpoint=https://api.openai.com/v1;Key=sk-…</c>, optionally
/// <c>Model=</c> (the Realtime model, default <c>gpt-realtime</c>) and <c>Voice=</c> (the default voice). No Aspire
/// client integration for OpenAI is served here, so it is parsed as any ADO.NET-style connection string. The key
/// never leaves this object except to the SDK: <see cref="ToString"/> leaves it out.
/// </summary>
public sealed class OpenAIConnection
{
    public const string Name = "openai";
    public const string DefaultModel = "gpt-realtime";

    private OpenAIConnection(Uri endpoint, string key, string model, string? voice)
    {
        Endpoint = endpoint;
        Key = key;
        Model = model;
        Voice = voice;
    }

    public Uri Endpoint { get; }

    public string Key { get; }

    public string Model { get; }

    public string? Voice { get; }

    /// <summary>Parses a configured connection string; the message names what is wrong (never the key's value).</summary>
    public static OpenAIConnection Parse(string connectionString)
    {
        DbConnectionStringBuilder builder;
        try
        {
            builder = new DbConnectionStringBuilder { ConnectionString = connectionString };
        }
        catch (ArgumentException)
        {
            throw new InvalidOperationException(
                $"ConnectionStrings:{Name} is not a connection string; use Endpoint=https://api.openai.com/v1;Key=sk-…[;Model=gpt-realtime;Voice=marin].");
        }

        var endpointText = Value(builder, "Endpoint");
        if (!Uri.TryCreate(endpointText, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("https" or "http"))
        {
            throw new InvalidOperationException($"ConnectionStrings:{Name} needs Endpoint=<an http(s) URL such as https://api.openai.com/v1>.");
        }

        var key = Value(builder, "Key");
        if (string.IsNullOrWhiteSpace(key))
        {
            throw new InvalidOperationException($"ConnectionStrings:{Name} needs Key=<an OpenAI API key>.");
        }

        var model = Value(builder, "Model");
        var voice = Value(builder, "Voice");
        return new OpenAIConnection(endpoint, key, string.IsNullOrWhiteSpace(model) ? DefaultModel : model.Trim(),
            string.IsNullOrWhiteSpace(voice) ? null : voice.Trim().ToLowerInvariant());
    }

    /// <summary>Endpoint, model and voice: what may be logged.</summary>
    public override string ToString() => $"Endpoint={Endpoint};Model={Model}" + (Voice is null ? "" : $";Voice={Voice}");

    private static string? Value(DbConnectionStringBuilder builder, string key) =>
        builder.TryGetValue(key, out var value) ? value?.ToString() : null;
}
