using System.Net;
using System.Text;
using AgentLocator.Web.Api;

namespace AgentLocator.Tests.Web;

/// <summary>The Api's problem details as the owner reads them: Hebrew by the stable codes, never the Api's English.</summary>
public sealed class ApiProblemWordingTests
{
    private static async Task<ApiProblem> ReadAsync(HttpStatusCode status, string json)
    {
        using var response = new HttpResponseMessage(status) { Content = new StringContent(json, Encoding.UTF8, "application/problem+json") };
        return await ApiProblems.ReadAsync(response, CancellationToken.None);
    }

    [Fact]
    public async Task AValidationProblemIsWordedInHebrewByItsCodesPerField()
    {
        var problem = await ReadAsync(HttpStatusCode.BadRequest, """
            {"title":"The request has invalid fields","status":400,
             "errors":{"timeZone":["'Mars/X' is not a known IANA time zone such as Asia/Jerusalem."],"phoneNumbers[1]":["'abc' is not a phone number; use E.164 such as +972501234567."],"name":["name is required."],"greetingText":["something new"]},
             "codes":{"timeZone":["time_zone_unknown"],"phoneNumbers[1]":["phone_invalid"],"name":["required"],"greetingText":["a_code_of_tomorrow"]}}
            """);

        Assert.Equal("חלק מהפרטים אינם תקינים. בדקו את השדות המסומנים.", problem.Title);
        Assert.Equal(["אזור הזמן אינו מוכר. כתבו למשל Asia/Jerusalem."], problem.Errors["timeZone"]);
        Assert.StartsWith("זה אינו מספר טלפון.", Assert.Single(problem.Errors["phoneNumbers[1]"]), StringComparison.Ordinal);
        Assert.Equal(["זהו שדה חובה."], problem.Errors["name"]);
        // A code this version of the app does not know still reads in Hebrew.
        Assert.Equal(["הערך בשדה הזה אינו תקין."], problem.Errors["greetingText"]);
        Assert.DoesNotContain(problem.Errors.Values.SelectMany(m => m), m => m.Contains("IANA", StringComparison.Ordinal) || m.Contains("E.164", StringComparison.Ordinal));
        Assert.Null(problem.Detail);
    }

    [Theory]
    [InlineData("phone_number_taken", "מספר הטלפון כבר שייך לעסק אחר.")]
    [InlineData("whatsapp_sender_taken", "מספר השולח בוואטסאפ כבר שייך לעסק אחר.")]
    [InlineData("customer_phone_taken", "כבר יש לקוח עם מספר הטלפון הזה.")]
    public async Task AConflictIsWordedByItsCodeNotByTheApisEnglishDetail(string code, string hebrew)
    {
        var problem = await ReadAsync(HttpStatusCode.Conflict, $$"""{"title":"Conflict","status":409,"detail":"The phone number +97235550000 already belongs to another business.","code":"{{code}}"}""");

        Assert.Equal(hebrew, problem.Detail);
        Assert.Equal("הפרטים מתנגשים בנתונים שכבר קיימים.", problem.Title);
    }

    [Fact]
    public async Task AnAnswerThatIsNotProblemDetailsIsWordedByItsStatus()
    {
        var problem = await ReadAsync(HttpStatusCode.BadGateway, "<html>502 Bad Gateway</html>");

        Assert.Equal("תקלה בשרת. נסו שוב בעוד רגע.", problem.Title);
        Assert.Null(problem.Detail);
        Assert.Empty(problem.Errors);
    }
}
