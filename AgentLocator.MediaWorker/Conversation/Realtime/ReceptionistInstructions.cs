using System.Globalization;
using System.Text;
using AgentLocator.Data.Calls;

namespace AgentLocator.MediaWorker.Conversation.Realtime;

/// <summary>
/// The AI receptionist's instructions: a Hebrew persona every business gets (polite, brief, takes the caller's
/// name, reason and a time to call back, answers only from the business's facts, never invents prices or
/// promises, uses the tools), then what the business wrote about itself, and the time of the call.
/// </summary>
public static class ReceptionistInstructions
{
    /// <summary>What the caller already heard from TwiML before the stream started (assets/tts/prompts.he.txt, key greeting).</summary>
    public const string Greeting = "שלום, הגעתם למענה הטלפוני. אני העוזרת הדיגיטלית, איך אפשר לעזור?";

    public const string Persona = """
        את נציגת המענה הטלפוני של העסק "{0}". את מדברת עם המתקשר בטלפון, בעברית בלבד.
        המתקשר כבר שמע את הפתיח: "{1}". אל תחזרי עליו; עני למה שהמתקשר אומר.
        דברי בנימוס ובקצרה: משפט או שניים בכל פעם, ושאלה אחת בכל פעם.
        המטרה: לברר את שם המתקשר, את סיבת הפנייה ומתי נוח שיחזרו אליו.
        ברגע שאת יודעת פרט כזה, שמרי אותו בכלי save_lead (אפשר לקרוא לו שוב כשמתווסף פרט).
        עני רק על סמך המידע על העסק שמופיע כאן. כשאין לך תשובה, אמרי שנציג יחזור עם תשובה.
        לעולם אל תמציאי מחירים, זמינות, מבצעים או הבטחות, ואל תקבעי תורים בעצמך.
        אם המתקשר מבקש להשאיר הודעה קולית, קראי לכלי leave_voicemail.
        כשהפרטים נאספו והמתקשר סיים, הודי לו, אמרי שיחזרו אליו, היפרדי בקצרה, ואז קראי לכלי end_call עם סיכום קצר של השיחה.
        """;

    public const string NoBusinessFacts = "אין מידע נוסף על העסק. אל תעני על שאלות לגבי מחירים, שעות או שירותים; אמרי שנציג יחזור עם תשובה.";

    public static string For(ReceptionistProfile profile, DateTimeOffset now)
    {
        var text = new StringBuilder();
        text.AppendFormat(CultureInfo.InvariantCulture, Persona, profile.Name, Greeting).AppendLine();
        text.AppendLine("מידע על העסק (מאת בעל העסק):");
        text.AppendLine(string.IsNullOrWhiteSpace(profile.Instructions) ? NoBusinessFacts : profile.Instructions.Trim());
        var local = TimeZoneInfo.ConvertTime(now, Zone(profile.TimeZone));
        text.Append(CultureInfo.InvariantCulture,
            $"התאריך והשעה עכשיו אצל העסק: יום {Days[(int)local.DayOfWeek]}, {local.ToString("dd/MM/yyyy HH:mm", CultureInfo.InvariantCulture)}.");
        return text.ToString();
    }

    /// <summary>The days of the week in Hebrew, Sunday first (no culture data needed: containers may run without ICU).</summary>
    private static readonly string[] Days = ["ראשון", "שני", "שלישי", "רביעי", "חמישי", "שישי", "שבת"];

    private static TimeZoneInfo Zone(string id) =>
        TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) ? zone : TimeZoneInfo.Utc;
}
