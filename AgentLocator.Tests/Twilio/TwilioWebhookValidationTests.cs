using System.Text;
using AgentLocator.Twilio.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace AgentLocator.Tests.Twilio;

public sealed class TwilioWebhookValidationTests
{
    private const string Token = "12345";
    private const string PublicBaseUrl = "https://Agent-Locator.example.com";

    private static readonly KeyValuePair<string, string>[] Form =
    [
        new("CallSid", "CA1234567890ABCDE"),
        new("From", "+972501234567"),
        new("To", "+97235551234"),
        new("CallerName", "כהן & בניו"),
    ];

    private readonly TwilioSignatureValidator _validator = new(Token);
    private readonly TwilioRequestSigner _signer = new(Token);

    [Fact]
    public async Task FormPostSignedForThePublicUrlIsValidThoughKestrelSawAnInternalAddress()
    {
        var signature = _signer.Sign(PublicBaseUrl + "/webhook/incoming_call?business=7", Form);
        var context = FormRequest("/webhook/incoming_call?business=7", Form, signature);

        Assert.True(await _validator.ValidateAsync(context.Request, PublicBaseUrl));
        Assert.Equal(PublicBaseUrl + "/webhook/incoming_call?business=7", context.Request.GetSignedUrl(PublicBaseUrl + "/"));
    }

    [Fact]
    public async Task FormPostWithoutSignatureIsInvalid()
    {
        var context = FormRequest("/webhook/incoming_call", Form, signature: null);

        Assert.False(await _validator.ValidateAsync(context.Request, PublicBaseUrl));
    }

    [Fact]
    public async Task FormPostSignedForAnotherHostIsInvalid()
    {
        var signature = _signer.Sign("https://attacker.example.com/webhook/incoming_call", Form);
        var context = FormRequest("/webhook/incoming_call", Form, signature);

        Assert.False(await _validator.ValidateAsync(context.Request, PublicBaseUrl));
    }

    [Fact]
    public async Task RawTargetIsUsedUndecodedSoEscapedQueryValuesStillMatch()
    {
        const string target = "/webhook/call_status?name=%D7%A9%D7%9C%D7%95%D7%9D&x=a%20b";
        var signature = _signer.Sign(PublicBaseUrl + target, Form);
        var context = FormRequest(target, Form, signature);

        Assert.True(await _validator.ValidateAsync(context.Request, PublicBaseUrl));
    }

    [Fact]
    public async Task JsonBodyIsCheckedAgainstBodySha256AndLeftReadableForTheHandler()
    {
        const string json = """{"event":"stream-started","name":"רחל"}""";
        var hash = TwilioRequestSigner.BodyHash(json);
        var target = "/webhook/events?bodySHA256=" + hash;
        var context = new DefaultHttpContext();
        SetTarget(context, "POST", target);
        context.Request.ContentType = "application/json";
        context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(json));
        context.Request.Headers[TwilioSignatureValidator.SignatureHeader] = _signer.Sign(PublicBaseUrl + target);

        Assert.True(await _validator.ValidateAsync(context.Request, PublicBaseUrl));
        Assert.Equal(json, await new StreamReader(context.Request.Body).ReadToEndAsync());
    }

    [Fact]
    public async Task JsonBodyThatWasChangedIsInvalid()
    {
        var hash = TwilioRequestSigner.BodyHash("""{"a":1}""");
        var target = "/webhook/events?bodySHA256=" + hash;
        var context = new DefaultHttpContext();
        SetTarget(context, "POST", target);
        context.Request.ContentType = "application/json";
        context.Request.Body = new MemoryStream("""{"a":2}"""u8.ToArray());
        context.Request.Headers[TwilioSignatureValidator.SignatureHeader] = _signer.Sign(PublicBaseUrl + target);

        Assert.False(await _validator.ValidateAsync(context.Request, PublicBaseUrl));
    }

    [Fact]
    public async Task FieldsAreCheckedAsSentThoughAspNetCoreMergesNamesThatDifferOnlyInCase()
    {
        KeyValuePair<string, string>[] form = [new("From", "+972501234567"), new("from", "+972509999999"), new("MediaUrl", "b"), new("MediaUrl", "a")];
        var signature = _signer.Sign(PublicBaseUrl + "/whatsapp/webhook", form);
        var context = FormRequest("/whatsapp/webhook", form, signature);

        Assert.True(await _validator.ValidateAsync(context.Request, PublicBaseUrl));
        Assert.Equal(2, (await context.Request.ReadFormAsync())["From"].Count);
    }

    [Fact]
    public async Task SignatureOverTheUrlWithTheDefaultPortIsValidForAPublicUrlWithout()
    {
        var signature = _signer.Sign("https://Agent-Locator.example.com:443/webhook/incoming_call", Form);
        var context = FormRequest("/webhook/incoming_call", Form, signature);

        Assert.True(await _validator.ValidateAsync(context.Request, PublicBaseUrl));
    }

    [Fact]
    public async Task GetRequestIsCheckedOnItsUrl()
    {
        const string target = "/webhook/recording_status?RecordingSid=RE1&RecordingStatus=completed";
        var context = new DefaultHttpContext();
        SetTarget(context, "GET", target);
        context.Request.Headers[TwilioSignatureValidator.SignatureHeader] = _signer.Sign(PublicBaseUrl + target);

        Assert.True(await _validator.ValidateAsync(context.Request, PublicBaseUrl));
    }

    private static DefaultHttpContext FormRequest(string target, IEnumerable<KeyValuePair<string, string>> form, string? signature)
    {
        var context = new DefaultHttpContext();
        SetTarget(context, "POST", target);
        var content = new FormUrlEncodedContent(form);
        context.Request.ContentType = "application/x-www-form-urlencoded";
        context.Request.Body = content.ReadAsStream();
        if (signature is not null)
        {
            context.Request.Headers[TwilioSignatureValidator.SignatureHeader] = signature;
        }

        return context;
    }

    private static void SetTarget(DefaultHttpContext context, string method, string target)
    {
        var feature = context.Features.Get<IHttpRequestFeature>()!;
        feature.Method = method;
        feature.Scheme = "http";
        feature.RawTarget = target;
        var query = target.IndexOf('?', StringComparison.Ordinal);
        feature.Path = Uri.UnescapeDataString(query < 0 ? target : target[..query]);
        feature.QueryString = query < 0 ? string.Empty : target[query..];
        context.Request.Host = new HostString("10.0.0.12", 8080);
    }
}
