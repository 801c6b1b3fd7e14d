using System.Text.Json;
using AgentLocator.Data.Calls;

namespace AgentLocator.MediaWorker.Conversation.Realtime;

/// <summary>A tool call the model made, once its arguments were checked.</summary>
public abstract record ToolCall
{
    public sealed record SaveLead(LeadFields Lead) : ToolCall;

    public sealed record EndCall(string? Summary) : ToolCall;

    public sealed record LeaveVoicemail : ToolCall;
}

/// <summary>
/// The receptionist's tools as the provider sees them (name, description, JSON schema) and the check of the
/// arguments the model sends: a call that does not fit (not JSON, an unknown field, a wrong type, too long, a
/// control character, an unknown tool) is answered with an error the model can act on, never thrown.
/// </summary>
public static class ReceptionistTools
{
    public const string SaveLeadName = "save_lead";
    public const string EndCallName = "end_call";
    public const string LeaveVoicemailName = "leave_voicemail";
    public const int MaxFieldLength = 500;
    public const int MaxNotesLength = 2000;

    public static IReadOnlyList<(string Name, string Description, string Parameters)> Definitions { get; } =
    [
        (SaveLeadName,
            "Saves what the caller told you to the business's CRM: their name, why they called, when to call them back, and notes. Call it as soon as you learn any of these; fields you leave out keep what was saved before.",
            """
            {"type":"object","additionalProperties":false,"properties":{
              "name":{"type":"string","description":"The caller's name as they said it."},
              "reason":{"type":"string","description":"Why they called, in a short sentence."},
              "callback_time":{"type":"string","description":"When they want to be called back, as they said it (e.g. מחר בבוקר)."},
              "notes":{"type":"string","description":"Anything else the business should know."}}}
            """),
        (EndCallName,
            "Ends the call after you said goodbye. Use it when the caller's details are taken and they have nothing more to ask.",
            """
            {"type":"object","additionalProperties":false,"required":["summary"],"properties":{
              "summary":{"type":"string","description":"Two or three sentences in Hebrew: who called, what they want, what was agreed."}}}
            """),
        (LeaveVoicemailName,
            "Sends the caller to the business's voicemail, when they ask to leave a recorded message.",
            """{"type":"object","additionalProperties":false,"properties":{}}"""),
    ];

    /// <summary>Checks a call's name and JSON arguments; <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse(string? name, string? arguments, out ToolCall? call, out string? error)
    {
        call = null;
        error = null;
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(string.IsNullOrWhiteSpace(arguments) ? "{}" : arguments);
            root = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            error = "the arguments are not valid JSON";
            return false;
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            error = "the arguments must be a JSON object";
            return false;
        }

        switch (name)
        {
            case SaveLeadName:
                if (!Fields(root, ["name", "reason", "callback_time", "notes"], out var fields, out error))
                {
                    return false;
                }

                var lead = new LeadFields(fields.GetValueOrDefault("name"), fields.GetValueOrDefault("reason"),
                    fields.GetValueOrDefault("callback_time"), fields.GetValueOrDefault("notes"));
                if (lead == LeadFields.Empty)
                {
                    error = "save_lead needs at least one of name, reason, callback_time, notes";
                    return false;
                }

                call = new ToolCall.SaveLead(lead);
                return true;
            case EndCallName:
                if (!Fields(root, ["summary"], out fields, out error))
                {
                    return false;
                }

                call = new ToolCall.EndCall(fields.GetValueOrDefault("summary"));
                return true;
            case LeaveVoicemailName:
                if (!Fields(root, [], out _, out error))
                {
                    return false;
                }

                call = new ToolCall.LeaveVoicemail();
                return true;
            default:
                error = $"there is no tool named '{Clip(name ?? "", 40)}'; the tools are {SaveLeadName}, {EndCallName} and {LeaveVoicemailName}";
                return false;
        }
    }

    /// <summary>The string fields of <paramref name="root"/>, each trimmed (empty is absent); false for any other field or value.</summary>
    private static bool Fields(JsonElement root, string[] allowed, out Dictionary<string, string> values, out string? error)
    {
        values = new Dictionary<string, string>(StringComparer.Ordinal);
        error = null;
        foreach (var property in root.EnumerateObject())
        {
            if (!allowed.Contains(property.Name, StringComparer.Ordinal))
            {
                error = allowed.Length == 0
                    ? $"this tool takes no arguments (got '{Clip(property.Name, 40)}')"
                    : $"unknown field '{Clip(property.Name, 40)}'; the fields are {string.Join(", ", allowed)}";
                return false;
            }

            if (property.Value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            if (property.Value.ValueKind != JsonValueKind.String)
            {
                error = $"'{property.Name}' must be a string";
                return false;
            }

            var text = property.Value.GetString()!.Trim();
            var max = property.Name is "notes" or "summary" ? MaxNotesLength : MaxFieldLength;
            if (text.Length > max)
            {
                error = $"'{property.Name}' must be at most {max} characters (got {text.Length})";
                return false;
            }

            if (text.Any(c => char.IsControl(c) && c is not ('\n' or '\r' or '\t')))
            {
                error = $"'{property.Name}' contains control characters";
                return false;
            }

            if (text.Length > 0)
            {
                values[property.Name] = text;
            }
        }

        return true;
    }

    private static string Clip(string text, int max) => text.Length <= max ? text : text[..max];
}
