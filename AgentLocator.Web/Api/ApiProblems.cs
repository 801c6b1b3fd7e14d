using System.Text.Json;

namespace AgentLocator.Web.Api;

/// <summary>
/// The Api's RFC 7807 problem details, worded in Hebrew for the page. The Api's English <c>detail</c> and field messages
/// are for developers and never shown: the page words the problem from its status, the 409's <c>code</c> and the
/// validation problem's <c>codes</c> (field → stable codes, <see cref="HebrewProblems"/>).
/// </summary>
public static class ApiProblems
{
    public static readonly ApiProblem Unreachable = new(StatusCodes.Status503ServiceUnavailable,
        "השרת אינו זמין כרגע. נסו שוב בעוד רגע.", "מה שהקלדתם לא נשמר, אבל הוא עדיין בטופס.", new Dictionary<string, string[]>());

    public static async Task<ApiProblem> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        string? code = null;
        var errors = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        var templateRequired = false;
        try
        {
            using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                code = root.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                templateRequired = root.TryGetProperty("templateRequired", out var t) && t.ValueKind == JsonValueKind.True;
                ReadFieldErrors(root, errors);
            }
        }
        catch (JsonException)
        {
            // Not problem details (a proxy's page): the status alone tells it.
        }
        var detail = templateRequired ? HebrewProblems.TemplateRequired : HebrewProblems.Conflict(code);
        return new ApiProblem(status, TitleFor(status), detail, errors) { TemplateRequired = templateRequired };
    }

    /// <summary>Each field named in <c>errors</c>, with its <c>codes</c> worded in Hebrew (a field without codes: "not valid").</summary>
    private static void ReadFieldErrors(JsonElement root, Dictionary<string, string[]> errors)
    {
        if (!root.TryGetProperty("errors", out var fields) || fields.ValueKind != JsonValueKind.Object)
        {
            return;
        }
        var codes = root.TryGetProperty("codes", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
        foreach (var field in fields.EnumerateObject())
        {
            var fieldCodes = codes.ValueKind == JsonValueKind.Object && codes.TryGetProperty(field.Name, out var f) && f.ValueKind == JsonValueKind.Array
                ? f.EnumerateArray().Select(v => v.GetString() ?? "").ToArray()
                : [""];
            errors[field.Name] = fieldCodes.Select(code => HebrewProblems.Field(field.Name, code)).Distinct().ToArray();
        }
    }

    public static string TitleFor(int status) => status switch
    {
        StatusCodes.Status404NotFound => "לא נמצא, או שאין לכם גישה אליו.",
        StatusCodes.Status400BadRequest or StatusCodes.Status422UnprocessableEntity => "חלק מהפרטים אינם תקינים. בדקו את השדות המסומנים.",
        StatusCodes.Status409Conflict => "הפרטים מתנגשים בנתונים שכבר קיימים.",
        StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden => "לאפליקציה אין הרשאה לשרת. פנו למנהל המערכת.",
        StatusCodes.Status429TooManyRequests => "יותר מדי בקשות. נסו שוב בעוד דקה.",
        _ => "תקלה בשרת. נסו שוב בעוד רגע.",
    };
}
