using System.Diagnostics;
using System.Net.WebSockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Text.Json;
using System.Xml;

namespace AgentLocator.Smoke;

/// <summary>
/// Runs the GO/NO-GO checks against one deployment: operations endpoints and the live build, the voice
/// webhooks as Twilio calls them, the prompts, the media WebSocket and a short simulated call, the CRM
/// and WhatsApp. Smoke traffic is marked (CallSid <c>CAsmoke…</c>, names <c>smoke-…</c>) and what the run
/// creates is deleted at the end. Use <see cref="RunAsync(SmokeOptions, CancellationToken)"/>; the CLI
/// and the whole-graph tests both do.
/// </summary>
public sealed partial class SmokeRunner : IDisposable
{
    /// <summary>Keep in step with <c>AgentLocator.Data.Calls.TestTraffic.CallSidPrefix</c>: such calls never count as leads.</summary>
    public const string CallSidPrefix = "CAsmoke";

    /// <summary>Names of everything the smoke run creates start with this.</summary>
    public const string NamePrefix = "smoke-";

    private readonly SmokeOptions _options;
    private readonly HttpClient _http;
    private readonly List<SmokeCheck> _checks = [];
    private readonly string _runId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
    private readonly string _callSid = CallSidPrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    private readonly string _accountSid;
    private readonly string _streamSid = "MZ" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
    private readonly string _callerNumber = RandomMobileNumber();

    private string? _environment;
    private IncomingCallTwiml? _twiml;

    public SmokeRunner(SmokeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _accountSid = options.AccountSid ?? "AC" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(1) })
        {
            Timeout = options.RequestTimeout,
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("AgentLocator.Smoke/1.0");
    }

    public string RunId => _runId;

    public string CallSid => _callSid;

    public static async Task<SmokeReport> RunAsync(SmokeOptions options, CancellationToken cancellationToken = default)
    {
        using var runner = new SmokeRunner(options);
        return await runner.RunAsync(cancellationToken);
    }

    public Task<SmokeReport> RunAsync(CancellationToken cancellationToken = default) => RunStepsAsync(cancellationToken,
        CheckOperationsAsync, SetUpBusinessAsync, CheckIncomingCallAsync, CheckMediaWorkerVersionAsync, CheckMediaAsync,
        CheckCallbacksAsync, CheckPromptsAsync, CheckCrmAsync, CheckWhatsAppAsync);

    /// <summary>
    /// Only the simulated call (what an operator's "Simulate a call" runs): the target's environment, a throw-away business,
    /// its incoming_call, and two real-time turns on the stream that TwiML set up; then the clean-up.
    /// <see cref="IncomingCall"/> then holds the call's stream parameters (its trace among them).
    /// </summary>
    public Task<SmokeReport> RunCallAsync(CancellationToken cancellationToken = default) => RunStepsAsync(cancellationToken,
        CheckOperationsAsync, SetUpBusinessAsync, CheckIncomingCallAsync, CheckMediaAsync);

    /// <summary>The incoming_call TwiML of the run's call, once it passed its checks.</summary>
    public IncomingCallTwiml? IncomingCall => _twiml;

    private async Task<SmokeReport> RunStepsAsync(CancellationToken cancellationToken, params Func<CancellationToken, Task>[] steps)
    {
        var startedAt = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        try
        {
            foreach (var step in steps)
            {
                await step(cancellationToken);
            }
        }
        finally
        {
            // Clean up even when the run was cancelled: a bounded budget of its own.
            using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await CleanUpAsync(cleanup.Token);
        }
        return new SmokeReport(_options.BaseUrl.ToString().TrimEnd('/'), _environment, startedAt,
            Math.Round(clock.Elapsed.TotalMilliseconds, 1), [.. _checks]);
    }

    public void Dispose() => _http.Dispose();

    /// <summary>The target is Development (from <c>/readyz</c> build.environment); unknown counts as not Development.</summary>
    private bool IsDevelopment => string.Equals(_environment, "Development", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether the target checks <c>X-Twilio-Signature</c>: on by default outside Development.</summary>
    private bool ValidatesSignatures => !IsDevelopment;

    /// <summary>Signed webhooks can run: a token to sign with, or a target that does not validate.</summary>
    private bool CanPostWebhooks => _options.AuthToken is not null || !ValidatesSignatures;

    private string NeedsTokenReason => $"the target ({_environment ?? "environment unknown"}) validates signatures: give --auth-token";

    /// <summary>Runs one check, timed; a <see cref="SmokeFailure"/> or a transport error fails it with its message.</summary>
    private async Task<bool> CheckAsync(string name, Func<CancellationToken, Task<string>> body, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            var detail = await body(cancellationToken);
            Record(new SmokeCheck(name, true, Ms(clock.Elapsed), detail));
            return true;
        }
        catch (SmokeFailure failure)
        {
            Record(new SmokeCheck(name, false, Ms(clock.Elapsed), failure.Message));
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && IsTransportFailure(ex))
        {
            Record(new SmokeCheck(name, false, Ms(clock.Elapsed), Describe(ex)));
        }
        return false;
    }

    private void Skip(string name, string reason) => Record(new SmokeCheck(name, true, 0, reason, Skipped: true));

    private void Record(SmokeCheck check)
    {
        lock (_checks)
        {
            _checks.Add(check);
        }
    }

    private static bool IsTransportFailure(Exception ex) =>
        ex is HttpRequestException or TaskCanceledException or TimeoutException or OperationCanceledException or IOException
            or WebSocketException or JsonException or XmlException or AuthenticationException or InvalidOperationException
            or System.Net.Sockets.SocketException;

    private static string Describe(Exception ex) => ex switch
    {
        TaskCanceledException { InnerException: TimeoutException } => "no answer within the request timeout",
        OperationCanceledException => "no answer in time",
        _ => $"{ex.GetType().Name}: {ex.Message}" + (ex.InnerException is { } inner ? $" ({inner.Message})" : ""),
    };

    private static double Ms(TimeSpan elapsed) => Math.Round(elapsed.TotalMilliseconds, 1);

    private static string RandomMobileNumber() => "+97255" + RandomNumberGenerator.GetInt32(0, 10_000_000).ToString("D7", System.Globalization.CultureInfo.InvariantCulture);
}
