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
        _ => "תשובה נוספת",
    };

    public sealed record Answer(string Slot, string? Transcript, string Link);

    public sealed record VoiceMail(int? DurationSeconds, string? Link, bool Failed);

    public static string Body(string businessName, string caller, string? customerName, DateTimeOffset startedAt, TimeZoneInfo zone,
        IReadOnlyList<Answer> answers, VoiceMail? voicemail)
    {
        var local = TimeZoneInfo.ConvertTime(startedAt, zone);
        var lines = new List<string>
        {
            $"📞 פנייה חדשה ל{businessName}",
            $"מתקשר/ת: {caller}" + (string.IsNullOrWhiteSpace(customerName) ? "" : $" ({customerName})"),
            $"מועד השיחה: {local.ToString("dd/MM/yyyy HH:mm", CultureInfo.InvariantCulture)}",
        };
        if (answers.Count > 0)
        {
            lines.Add("מה השאירו:");
            lines.AddRange(answers.Select(a => $"• {SlotLabel(a.Slot)}: " + (string.IsNullOrWhiteSpace(a.Transcript) ? "" : a.Transcript.Trim() + " ") + "🔊 " + a.Link));
        }
        if (voicemail is { Link: { } link })
        {
            var duration = voicemail.DurationSeconds is { } seconds ? $" ({seconds} שניות)" : "";
            lines.Add($"🎙️ הודעה קולית{duration}: {link}");
        }
        else if (voicemail is { Failed: true })
        {
            lines.Add("🎙️ ההודעה הקולית לא נשמרה.");
        }
        if (answers.Count == 0 && voicemail is not { Link: not null })
        {
            lines.Add("המתקשר/ת לא השאיר/ה פרטים.");
        }
        var body = string.Join('\n', lines);
        return body.Length <= TwilioMessage.MaxBodyLength ? body : body[..(TwilioMessage.MaxBodyLength - 1)] + "…";
    }

    /// <summary>Template variables (no newlines: WhatsApp refuses them in template parameters): 1 caller, 2 what they left, 3 the audio link.</summary>
    public static Dictionary<string, string> TemplateVariables(string caller, IReadOnlyList<Answer> answers, VoiceMail? voicemail)
    {
        var left = answers.Select(a => SlotLabel(a.Slot) + (string.IsNullOrWhiteSpace(a.Transcript) ? "" : ": " + a.Transcript.Trim())).ToList();
        if (voicemail is { Link: not null })
        {
            left.Add("הודעה קולית");
        }
        var summary = left.Count == 0 ? "לא הושארו פרטים" : string.Join(" · ", left).ReplaceLineEndings(" ");
        var link = voicemail?.Link ?? answers.FirstOrDefault()?.Link ?? "-";
        return new Dictionary<string, string>(StringComparer.Ordinal) { ["1"] = caller, ["2"] = summary, ["3"] = link };
    }
}
