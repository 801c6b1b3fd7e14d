using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;

namespace AgentLocator.Data.Messages;

/// <summary>Template variables as stored and sent (<c>{"1":"רחל"}</c>): Hebrew kept readable, not <c>\u05E8…</c>.</summary>
public static class ContentVariablesJson
{
    private static readonly JsonSerializerOptions Options = new() { Encoder = JavaScriptEncoder.Create(UnicodeRanges.All) };

    public static string Serialize(IReadOnlyDictionary<string, string> variables) => JsonSerializer.Serialize(variables, Options);
}
