using AgentLocator.MediaWorker.Notifications;

namespace AgentLocator.Tests.WhatsApp;

public sealed class LeadNotificationTextTests
{
    private static readonly TimeZoneInfo Israel = TimeZoneInfo.FindSystemTimeZoneById("Asia/Jerusalem");

    [Fact]
    public void TheAiReceptionistsLeadSummaryVoicemailTranscriptAndConversationAreInTheMessageInThatOrder()
    {
        var body = LeadNotificationText.Body("מספרת רחל", "+972521234567", "דנה לוי", DateTimeOffset.Parse("2026-12-01T08:00:00Z"), Israel, [],
            new LeadNotificationText.VoiceMail(14, "https://agentlocator.test/media/recordings/1", false, "תחזרו אליי מחר"),
            new LeadNotificationText.Lead("דנה לוי", "תספורת", "מחר בבוקר", null, "דנה ביקשה תור"),
            [new(true, "שלום, אני רוצה תור"), new(false, "בשמחה, איך קוראים לך?")]);

        var lines = body.Split('\n');
        Assert.Equal("📞 פנייה חדשה למספרת רחל", lines[0]);
        Assert.Contains("• שם: דנה לוי", lines);
        Assert.Contains("• סיבת הפנייה: תספורת", lines);
        Assert.Contains("• זמן נוח לחזרה: מחר בבוקר", lines);
        Assert.Contains("סיכום: דנה ביקשה תור", lines);
        Assert.Contains("תמליל ההודעה: תחזרו אליי מחר", lines);
        Assert.Equal(["השיחה:", "👤 שלום, אני רוצה תור", "🤖 בשמחה, איך קוראים לך?"], lines[^3..]);
        Assert.DoesNotContain("לא השאיר/ה פרטים", body, StringComparison.Ordinal);
    }

    [Fact]
    public void ALongConversationIsCutAtTwiliosLimitAfterTheDetails()
    {
        var conversation = Enumerable.Range(0, 40).Select(i => new LeadNotificationText.Line(i % 2 == 0, new string('א', 300))).ToList();

        var body = LeadNotificationText.Body("עסק", "+972521234567", null, DateTimeOffset.UtcNow, Israel, [], null,
            new LeadNotificationText.Lead("דנה", "תספורת", null, null, null), conversation);

        Assert.Equal(1600, body.Length);
        Assert.Contains("• שם: דנה", body, StringComparison.Ordinal);
        Assert.EndsWith("…", body, StringComparison.Ordinal);
        Assert.True(body.Split('\n').Where(l => l.StartsWith("👤", StringComparison.Ordinal)).All(l => l.Length <= "👤 ".Length + LeadNotificationText.MaxTranscriptLine));
    }

    [Fact]
    public void TheTemplateVariablesCarryTheLeadAndTheVoicemailTranscriptOnOneLine()
    {
        var variables = LeadNotificationText.TemplateVariables("+972521234567", [],
            new LeadNotificationText.VoiceMail(10, "https://x/r", false, "תחזרו\nאליי"), new LeadNotificationText.Lead("דנה", null, "מחר", null, "סיכום קצר"));

        Assert.Equal("שם: דנה · זמן נוח לחזרה: מחר · סיכום: סיכום קצר · הודעה קולית: תחזרו אליי", variables["2"]);
        Assert.Equal("https://x/r", variables["3"]);
    }
}
