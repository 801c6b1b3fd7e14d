namespace AgentLocator.Web.Api;

/// <summary>
/// The Api's stable problem codes (its <c>ValidationCodes</c> and <c>ConflictCodes</c>) in the owner's words. A code
/// this app does not know yet still gets a Hebrew message, never the Api's English one.
/// </summary>
public static class HebrewProblems
{
    public const string TemplateRequired = "הלקוח לא כתב לעסק ב-24 השעות האחרונות, ולכן וואטסאפ מאפשר לשלוח לו רק תבנית מאושרת.";

    public static string Field(string field, string code) => code switch
    {
        "required" => "זהו שדה חובה.",
        "too_long" => "הטקסט ארוך מדי.",
        "control_characters" => "הטקסט מכיל תווים שאינם מותרים.",
        "phone_invalid" => "זה אינו מספר טלפון. כתבו למשל 050-123-4567 או +972501234567.",
        "too_many" => "אפשר עד 20 מספרי טלפון לעסק.",
        "time_zone_unknown" => "אזור הזמן אינו מוכר. כתבו למשל Asia/Jerusalem.",
        "name_or_phone_required" => "יש להזין שם או מספר טלפון.",
        "unknown_value" => "בחרו אחד מהערכים שברשימה.",
        "out_of_range" => field switch
        {
            "maxRecordingSeconds" => "אורך ההקלטה צריך להיות בין 5 ל-3600 שניות.",
            "from" => "תאריך ההתחלה מאוחר מתאריך הסיום.",
            _ => "הערך מחוץ לטווח המותר.",
        },
        _ => "הערך בשדה הזה אינו תקין.",
    };

    /// <summary>What a 409 means, by its code; null when there is no code (the title says enough).</summary>
    public static string? Conflict(string? code) => code switch
    {
        "phone_number_taken" => "מספר הטלפון כבר שייך לעסק אחר.",
        "whatsapp_sender_taken" => "מספר השולח בוואטסאפ כבר שייך לעסק אחר.",
        "customer_phone_taken" => "כבר יש לקוח עם מספר הטלפון הזה.",
        null or "" => null,
        _ => "הפרטים מתנגשים בנתונים שכבר קיימים.",
    };
}
