using System.Text.Json;

namespace AgentLocator.Web.Api;

/// <summary>The Api's RFC 7807 problem details, read and titled in Hebrew for the page.</summary>
public static class ApiProblems
{
    public static readonly ApiProblem Unreachable = new(StatusCodes.Status503ServiceUnavailable,
        "השרת אינו זמין כרגע. נסו שוב בעוד רגע.", null, new Dictionary<string, string[]>());

    public static async Task<ApiProblem> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        string? detail = null;
        var errors = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        var templateRequired = false;
        try
        {
            using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
            var root = document.RootElement;
            if (root.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String)
            {
                detail = d.GetString();
            }
            if (root.TryGetProperty("errors", out var e) && e.ValueKind == JsonValueKind.Object)
            {
                foreach (var field in e.EnumerateObject())
                {
                    errors[field.Name] = field.Value.ValueKind == JsonValueKind.Array
                        ? field.Value.EnumerateArray().Select(v => v.GetString() ?? "").ToArray()
                        : [field.Value.ToString()];
                }
            }
            templateRequired = root.TryGetProperty("templateRequired", out var t) && t.ValueKind == JsonValueKind.True;
        }
        catch (JsonException)
        {
            // Not problem details (a proxy's page): the status alone tells it.
        }
        return new ApiProblem(status, TitleFor(status), detail, errors) { TemplateRequired = templateRequired };
    }

    public static string TitleFor(int status) => status switch
    {
        StatusCodes.Status404NotFound => "לא נמצא, או שאין לכם גישה אליו.",
        StatusCodes.Status400BadRequest or StatusCodes.Status422UnprocessableEntity => "חלק מהפרטים אינם תקינים. בדקו את השדות המסומנים.",
        StatusCodes.Status409Conflict => "הפרטים מתנגשים בעסק אחר (מספר טלפון או שולח וואטסאפ תפוסים).",
        StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden => "לאפליקציה אין הרשאה לשרת. פנו למנהל המערכת.",
        StatusCodes.Status429TooManyRequests => "יותר מדי בקשות. נסו שוב בעוד דקה.",
        _ => "תקלה בשרת. נסו שוב בעוד רגע.",
    };
}
