namespace AgentLocator.Web.Formatting;

/// <summary>The Api's codes in the owner's words.</summary>
public static class HebrewLabels
{
    public static string LeadStatus(string? status) => status switch
    {
        "new" => "חדש",
        "called_back" => "חזרתי ללקוח",
        "closed" => "סגור",
        _ => status ?? "",
    };

    public static string Source(bool fallbackUsed) => fallbackUsed ? "תא קולי" : "שיחה חיה";

    public static string FallbackReason(string? reason) => reason switch
    {
        "caller_request" => "המתקשר ביקש להשאיר הודעה",
        "stream_never_started" => "השיחה החיה לא התחילה",
        "stream_broke" => "השיחה החיה נקטעה",
        "watchdog" => "השיחה החיה לא התחילה בזמן",
        null or "" => "",
        _ => reason,
    };

    public static string CallStatus(string? status) => status switch
    {
        "queued" or "initiated" or "ringing" => "מצלצלת",
        "in-progress" => "בשיחה",
        "completed" => "הסתיימה",
        "busy" => "תפוס",
        "failed" => "נכשלה",
        "no-answer" => "לא נענתה",
        "canceled" => "בוטלה",
        _ => status ?? "",
    };

    public static string Speaker(string? speaker) => speaker == "caller" ? "המתקשר" : "העוזרת";

    public static string MessageStatus(string? status) => status switch
    {
        "pending" or "queued" or "accepted" => "ממתינה לשליחה",
        "sending" => "נשלחת",
        "sent" => "נשלחה",
        "delivered" => "נמסרה",
        "read" => "נקראה",
        "failed" or "undelivered" => "לא נמסרה",
        "received" => "התקבלה",
        _ => status ?? "",
    };
}
