using System.Globalization;
using AgentLocator.Data.Model;
using AgentLocator.Twilio.Rest;

namespace AgentLocator.MediaWorker.Notifications;

/// <summary>The Hebrew WhatsApp text a business gets about a call: who called, what they left, and links to the audio.</summary>
public static class LeadNotificationText
{
    public const string AnonymousCaller = "מספר חסוי";

    public static string SlotLabel(string slot) => slot switch
    {
        "name" => "שם",
        "reason" => "סיבת הפנייה",
        "callback_time" => "זמן נוח לחזרה",
        "notes" => "הערות",
        _ => "תשובה נוספת",
    };

    /// <summary>The longest line of the conversation shown; the whole transcript is in the CRM.</summary>
    public const int MaxTranscriptLine = 200;

    public sealed record Answer(string Slot, string? Transcript, string Link);

    public sealed record VoiceMail(int? DurationSeconds, string? Link, bool Failed, string? Transcript = null);

    /// <summary>What the AI receptionist took (save_lead) and its summary (end_call).</summary>
    public sealed record Lead(string? Name, string? Reason, string? CallbackTime, string? Notes, string? Summary)
    {
        public bool IsEmpty => Name is null && Reason is null && CallbackTime is null && Notes is null && Summary is null;
    }

    /// <summary>One turn of the conversation: the caller's (<c>true</c>) or the receptionist's.</summary>
    public sealed record Line(bool Caller, string Text);

    public static string Body(string businessName, string caller, string? customerName, DateTimeOffset startedAt, TimeZoneInfo zone,
        IReadOnlyList<Answer> answers, VoiceMail? voicemail, Lead? lead = null, IReadOnlyList<Line>? conversation = null)
    {
        var local = TimeZoneInfo.ConvertTime(startedAt, zone);
        conversation ??= [];
        var lines = new List<string>
        {
            $"📞 פנייה חדשה ל{businessName}",
            $"מתקשר/ת: {caller}" + (string.IsNullOrWhiteSpace(customerName) ? "" : $" ({customerName})"),
            $"מועד השיחה: {local.ToString("dd/MM/yyyy HH:mm", CultureInfo.InvariantCulture)}",
        };
        if (lead is { IsEmpty: false })
        {
            lines.Add("פרטי הפנייה:");
            AddField(lines, "name", lead.Name);
            AddField(lines, "reason", lead.Reason);
            AddField(lines, "callback_time", lead.CallbackTime);
            AddField(lines, "notes", lead.Notes);
            if (!string.IsNullOrWhiteSpace(lead.Summary))
            {
                lines.Add("סיכום: " + lead.Summary.Trim());
            }
        }
        if (answers.Count > 0)
        {
            lines.Add("מה השאירו:");
            lines.AddRange(answers.Select(a => $"• {SlotLabel(a.Slot)}: " + (string.IsNullOrWhiteSpace(a.Transcript) ? "" : a.Transcript.Trim() + " ") + "🔊 " + a.Link));
        }
        if (voicemail is { Link: { } link })
        {
            var duration = voicemail.DurationSeconds is { } seconds ? $" ({seconds} שניות)" : "";
            lines.Add($"🎙️ הודעה קולית{duration}: {link}");
            if (!string.IsNullOrWhiteSpace(voicemail.Transcript))
            {
                lines.Add("תמליל ההודעה: " + voicemail.Transcript.Trim());
            }
        }
        else if (voicemail is { Failed: true })
        {
            lines.Add("🎙️ ההודעה הקולית לא נשמרה.");
        }
        if (answers.Count == 0 && voicemail is not { Link: not null } && lead is not { IsEmpty: false } && conversation.Count == 0)
        {
            lines.Add("המתקשר/ת לא השאיר/ה פרטים.");
        }
        if (conversation.Count > 0)
        {
            // Last: the message is cut at Twilio's limit, and the details above matter more than the words.
            lines.Add("השיחה:");
            lines.AddRange(conversation.Select(l => (l.Caller ? "👤 " : "🤖 ") + Clip(l.Text.ReplaceLineEndings(" ").Trim(), MaxTranscriptLine)));
        }
        var body = string.Join('\n', lines);
        return body.Length <= TwilioMessage.MaxBodyLength ? body : body[..(TwilioMessage.MaxBodyLength - 1)] + "…";
    }

    /// <summary>Template variables (no newlines: WhatsApp refuses them in template parameters): 1 caller, 2 what they left, 3 the audio link.</summary>
    public static Dictionary<string, string> TemplateVariables(string caller, IReadOnlyList<Answer> answers, VoiceMail? voicemail, Lead? lead = null)
    {
        var left = new List<string>();
        if (lead is { IsEmpty: false })
        {
            left.AddRange(new[] { ("name", lead.Name), ("reason", lead.Reason), ("callback_time", lead.CallbackTime), ("notes", lead.Notes) }
                .Where(f => !string.IsNullOrWhiteSpace(f.Item2)).Select(f => SlotLabel(f.Item1) + ": " + f.Item2!.Trim()));
            if (!string.IsNullOrWhiteSpace(lead.Summary))
            {
                left.Add("סיכום: " + lead.Summary.Trim());
            }
        }
        left.AddRange(answers.Select(a => SlotLabel(a.Slot) + (string.IsNullOrWhiteSpace(a.Transcript) ? "" : ": " + a.Transcript.Trim())));
        if (voicemail is { Link: not null })
        {
            left.Add(string.IsNullOrWhiteSpace(voicemail.Transcript) ? "הודעה קולית" : "הודעה קולית: " + voicemail.Transcript.Trim());
        }
        var summary = left.Count == 0 ? "לא הושארו פרטים" : string.Join(" · ", left).ReplaceLineEndings(" ");
        var link = voicemail?.Link ?? answers.FirstOrDefault()?.Link ?? "-";
        return new Dictionary<string, string>(StringComparer.Ordinal) { ["1"] = caller, ["2"] = summary, ["3"] = link };
    }

    private static void AddField(List<string> lines, string slot, string? value)
    {
        if (!string.IsNullOrWhiteSpace(value))
        {
            lines.Add($"• {SlotLabel(slot)}: {value.Trim()}");
        }
    }

    private static string Clip(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";
}
