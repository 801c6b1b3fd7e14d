using System.CommandLine;
using AgentLocator.Smoke;

var baseUrl = new Option<string>("--base-url") { Description = "The Api's address, e.g. https://calls.example.com", Required = true };
var publicUrl = new Option<string?>("--public-url") { Description = "The Api's PublicBaseUrl, if it differs from --base-url (webhooks are signed over it)" };
var mediaUrl = new Option<string?>("--media-url") { Description = "The media WebSocket, e.g. wss://calls.example.com/ws/twilio-media (default: the <Stream url> of the incoming_call TwiML)" };
var mediaWorkerUrl = new Option<string?>("--mediaworker-url") { Description = "The MediaWorker's HTTP address, for its /version" };
var authToken = new Option<string?>("--auth-token")
{
    Description = "Twilio auth token to sign webhooks with (default: environment variable Twilio__AuthToken)",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("Twilio__AuthToken"),
};
var accountSid = new Option<string?>("--account-sid")
{
    Description = "The AccountSid the webhooks carry (default: environment variable Twilio__AccountSid, else a random AC…)",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("Twilio__AccountSid"),
};
var apiKey = new Option<string?>("--api-key")
{
    Description = "CRM API key: throw-away business, CRM round trip, WhatsApp (default: environment variable Crm__ApiKeys__0)",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("Crm__ApiKeys__0"),
};
var expectCommit = new Option<string?>("--expect-commit") { Description = "The commit both services must report (full sha or at least 7 characters)" };
var expectDeployId = new Option<string?>("--expect-deploy-id") { Description = "The deploy id both services must report" };
var businessNumber = new Option<string?>("--business-number") { Description = "A number owned by a business, dialled when no --api-key is given (+972…)" };
var allowWs = new Option<bool>("--allow-ws") { Description = "Accept a ws:// stream URL from a target that is not Development" };
var json = new Option<bool>("--json") { Description = "Print the report as JSON" };

var root = new RootCommand("GO/NO-GO smoke suite for an AgentLocator deployment: exit 0 = GO, 1 = NO-GO, 2 = bad arguments.")
{
    baseUrl, publicUrl, mediaUrl, mediaWorkerUrl, authToken, accountSid, apiKey, expectCommit, expectDeployId, businessNumber, allowWs, json,
};

root.SetAction(async (parse, cancellationToken) =>
{
    Uri? Url(Option<string?> option, params string[] schemes) =>
        parse.GetValue(option) is { Length: > 0 } text ? ParseUrl(option.Name, text, schemes) : null;

    SmokeOptions options;
    try
    {
        options = new SmokeOptions
        {
            BaseUrl = ParseUrl(baseUrl.Name, parse.GetValue(baseUrl)!, "http", "https"),
            PublicUrl = Url(publicUrl, "http", "https"),
            MediaUrl = Url(mediaUrl, "ws", "wss"),
            MediaWorkerUrl = Url(mediaWorkerUrl, "http", "https"),
            AuthToken = NonEmpty(parse.GetValue(authToken)),
            AccountSid = NonEmpty(parse.GetValue(accountSid)),
            ApiKey = NonEmpty(parse.GetValue(apiKey)),
            ExpectCommit = NonEmpty(parse.GetValue(expectCommit)),
            ExpectDeployId = NonEmpty(parse.GetValue(expectDeployId)),
            BusinessNumber = NonEmpty(parse.GetValue(businessNumber)),
            AllowInsecureWebSocket = parse.GetValue(allowWs),
        };
    }
    catch (ArgumentException ex)
    {
        await Console.Error.WriteLineAsync(ex.Message);
        return 2;
    }
    var report = await SmokeRunner.RunAsync(options, cancellationToken);
    Console.Out.Write(parse.GetValue(json) ? SmokeReportWriter.ToJson(report) + Environment.NewLine : SmokeReportWriter.ToTable(report));
    return report.Go ? 0 : 1;
});

return await root.Parse(args).InvokeAsync();

static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

static Uri ParseUrl(string option, string text, params string[] schemes) =>
    Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) && schemes.Contains(uri.Scheme)
        ? uri
        : throw new ArgumentException($"{option} must be an absolute {string.Join(" or ", schemes.Select(s => s + "://"))} URL, not '{text}'.");
