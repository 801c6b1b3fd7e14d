namespace AgentLocator.Smoke;

/// <summary>Where the deployment under test is, what it should be running, and the secrets that unlock the deeper checks.</summary>
public sealed record SmokeOptions
{
    /// <summary>The Api's address (what the smoke run calls), e.g. <c>https://calls.example.com</c>.</summary>
    public required Uri BaseUrl { get; init; }

    /// <summary>
    /// The address Twilio uses (the Api's <c>PublicBaseUrl</c>), which webhook signatures are computed over;
    /// defaults to <see cref="BaseUrl"/>. Differs only when the smoke run reaches the Api by an internal address.
    /// </summary>
    public Uri? PublicUrl { get; init; }

    /// <summary>The media WebSocket (<c>wss://…/ws/twilio-media</c>); defaults to the <c>&lt;Stream url&gt;</c> of the incoming_call TwiML.</summary>
    public Uri? MediaUrl { get; init; }

    /// <summary>The MediaWorker's HTTP address, for its <c>/version</c>; defaults to the host of <see cref="MediaUrl"/> when that differs from the Api's.</summary>
    public Uri? MediaWorkerUrl { get; init; }

    /// <summary>Twilio auth token: signs the webhooks (required against a target that validates signatures).</summary>
    public string? AuthToken { get; init; }

    /// <summary>The <c>AccountSid</c> the webhooks carry, as Twilio's would; a random <c>AC…</c> when not given.</summary>
    public string? AccountSid { get; init; }

    /// <summary>A CRM key (<c>X-Api-Key</c>): enables the throw-away business, the CRM round trip and the WhatsApp webhook.</summary>
    public string? ApiKey { get; init; }

    public string? ExpectCommit { get; init; }

    public string? ExpectDeployId { get; init; }

    /// <summary>A number already owned by a business, used as <c>To</c> of the smoke call when no API key is given.</summary>
    public string? BusinessNumber { get; init; }

    /// <summary>Accept a <c>ws://</c> stream URL although the target is not Development (a local graph run as Production).</summary>
    public bool AllowInsecureWebSocket { get; init; }

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Budgets from the design: TwiML well inside Twilio's 15 s, the bot's first audio within a few seconds.</summary>
    public TimeSpan IncomingCallBudget { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan StatusCallbackBudget { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan RecordingCallbackBudget { get; init; } = TimeSpan.FromSeconds(3);

    public TimeSpan FirstAudioBudget { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>How long the simulated call may take in all (connect, two real-time turns of a 4 s utterance after a 5 s pause, hang-up: about 25 s).</summary>
    public TimeSpan SimulatedCallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The base every signature is computed over.</summary>
    public string SigningBase => (PublicUrl ?? BaseUrl).ToString().TrimEnd('/');

    /// <summary>Never prints the auth token or the API key, only whether they are set.</summary>
    public override string ToString() =>
        $"SmokeOptions {{ BaseUrl = {BaseUrl}, PublicUrl = {PublicUrl}, MediaUrl = {MediaUrl}, MediaWorkerUrl = {MediaWorkerUrl}, " +
        $"AuthToken = {(AuthToken is null ? "none" : "***")}, ApiKey = {(ApiKey is null ? "none" : "***")}, " +
        $"ExpectCommit = {ExpectCommit}, ExpectDeployId = {ExpectDeployId}, BusinessNumber = {BusinessNumber} }}";
}
