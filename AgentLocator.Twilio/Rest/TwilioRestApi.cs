using System.Net;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Twilio.Clients;
using Twilio.Exceptions;
using Twilio.Http;
using Twilio.Rest.Api.V2010.Account;
using Twilio.Types;

namespace AgentLocator.Twilio.Rest;

/// <summary>
/// The Twilio REST calls AgentLocator makes (a live call's redirect or hang-up, a message, a recording's
/// audio), through the SDK's <see cref="TwilioRestClient"/> on the <see cref="HttpClientName"/> client of the
/// <see cref="IHttpClientFactory"/> (resilience, telemetry, <see cref="TwilioApiBaseUrlHandler"/>). A call
/// that is already gone is a result, not an error; Twilio's refusals are <see cref="TwilioApiException"/>;
/// Twilio out of reach is an <see cref="HttpRequestException"/>. Register with
/// <see cref="TwilioServiceCollectionExtensions.AddTwilio"/>.
/// </summary>
public sealed partial class TwilioRestApi(IHttpClientFactory httpClients, IOptionsMonitor<TwilioOptions> options, ILogger<TwilioRestApi> logger)
{
    /// <summary>The name of the HttpClient every Twilio request goes through.</summary>
    public const string HttpClientName = "twilio";

    /// <summary>
    /// Redirects, re-scripts or ends a live call (<c>POST /Accounts/{AccountSid}/Calls/{CallSid}.json</c>).
    /// A call that is already gone (404 / 20404, or 21220 "not in progress") is a result, not an exception,
    /// so hang-up paths can treat it as done.
    /// </summary>
    public async Task<CallUpdateResult> UpdateCallAsync(string callSid, CallUpdate update, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(callSid);
        ArgumentNullException.ThrowIfNull(update);
        try
        {
            var call = await SendAsync(
                client => CallResource.UpdateAsync(update.ToOptions(callSid, Account.AccountSid), client), cancellationToken).ConfigureAwait(false);
            var status = call.Status?.ToString();
            LogCallUpdated(logger, callSid, update.Description, status);
            return new CallUpdateResult(CallUpdateOutcome.Updated, callSid, status);
        }
        catch (TwilioApiException error) when (error.StatusCode == HttpStatusCode.NotFound || error.Code == 20404)
        {
            LogCallGone(logger, callSid, update.Description, error.Code);
            return new CallUpdateResult(CallUpdateOutcome.CallNotFound, callSid, null, error);
        }
        catch (TwilioApiException error) when (error.Code == 21220)
        {
            LogCallGone(logger, callSid, update.Description, error.Code);
            return new CallUpdateResult(CallUpdateOutcome.CallNotInProgress, callSid, null, error);
        }
    }

    /// <summary>Makes Twilio fetch new TwiML for the call from <paramref name="url"/>.</summary>
    public Task<CallUpdateResult> RedirectCallAsync(string callSid, string url, string method = "POST", CancellationToken cancellationToken = default) =>
        UpdateCallAsync(callSid, CallUpdate.Redirect(url, method), cancellationToken);

    /// <summary>Ends the call; a call that is already gone counts as done (<see cref="CallUpdateResult.IsCallGone"/>).</summary>
    public Task<CallUpdateResult> HangUpCallAsync(string callSid, CancellationToken cancellationToken = default) =>
        UpdateCallAsync(callSid, CallUpdate.Complete(), cancellationToken);

    /// <summary>Sends an SMS or WhatsApp message (<c>POST /Accounts/{AccountSid}/Messages.json</c>).</summary>
    /// <exception cref="ArgumentException">The message is incomplete or its body is longer than 1600 characters.</exception>
    /// <exception cref="TwilioApiException">Twilio refused it (e.g. 21211 invalid number, 63016 outside the WhatsApp window).</exception>
    public async Task<TwilioMessageResult> SendMessageAsync(TwilioMessage message, CancellationToken cancellationToken = default)
    {
        var create = ToOptions(message, Account.AccountSid);
        var created = await SendAsync(client => MessageResource.CreateAsync(create, client), cancellationToken).ConfigureAwait(false);
        var result = new TwilioMessageResult(created.Sid, created.Status?.ToString() ?? "unknown", created.ErrorCode, created.ErrorMessage);
        LogMessageSent(logger, result.Sid, result.Status);
        return result;
    }

    internal static CreateMessageOptions ToOptions(TwilioMessage message, string accountSid)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentException.ThrowIfNullOrWhiteSpace(message.To, nameof(message.To));
        ArgumentException.ThrowIfNullOrWhiteSpace(message.From, nameof(message.From));
        var hasTemplate = !string.IsNullOrWhiteSpace(message.ContentSid);
        if (string.IsNullOrEmpty(message.Body) && message.MediaUrls.Count == 0 && !hasTemplate)
        {
            throw new ArgumentException("A message needs a Body, a MediaUrl or a ContentSid.", nameof(message));
        }

        if (message.Body is { Length: > TwilioMessage.MaxBodyLength })
        {
            throw new ArgumentException($"The message body is {message.Body.Length} characters; Twilio accepts at most {TwilioMessage.MaxBodyLength}.", nameof(message));
        }

        if (message.ContentVariables is not null && !hasTemplate)
        {
            throw new ArgumentException("ContentVariables need a ContentSid.", nameof(message));
        }

        return new CreateMessageOptions(new PhoneNumber(message.To))
        {
            PathAccountSid = accountSid,
            From = new PhoneNumber(message.From),
            Body = string.IsNullOrEmpty(message.Body) ? null : message.Body,
            MediaUrl = message.MediaUrls.Count == 0 ? null : [.. message.MediaUrls.Select(url => new Uri(url, UriKind.Absolute))],
            StatusCallback = string.IsNullOrWhiteSpace(message.StatusCallback) ? null : new Uri(message.StatusCallback, UriKind.Absolute),
            ContentSid = hasTemplate ? message.ContentSid : null,
            ContentVariables = message.ContentVariables is null ? null : JsonSerializer.Serialize(message.ContentVariables),
        };
    }

    private TwilioOptions Account
    {
        get
        {
            var account = options.CurrentValue;
            return string.IsNullOrEmpty(account.AccountSid) || string.IsNullOrEmpty(account.AuthToken)
                ? throw new InvalidOperationException("Twilio:AccountSid and Twilio:AuthToken must be configured to call the Twilio REST API.")
                : account;
        }
    }

    /// <summary>
    /// Runs one SDK call on a client of its own (so the HTTP status of a non-JSON error is known) and maps what
    /// it throws. The SDK takes no cancellation token: the resilience handler's timeouts bound the request, and
    /// <paramref name="cancellationToken"/> stops the wait.
    /// </summary>
    private async Task<T> SendAsync<T>(Func<ITwilioRestClient, Task<T>> call, CancellationToken cancellationToken)
    {
        var account = Account;
        var http = new SystemNetHttpClient(httpClients.CreateClient(HttpClientName));
        var client = new TwilioRestClient(account.AccountSid, account.AuthToken, accountSid: account.AccountSid, httpClient: http);
        try
        {
            return await call(client).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ApiException ex)
        {
            var status = ex.Status != 0 ? (HttpStatusCode)ex.Status : http.LastResponse?.StatusCode ?? 0;
            LogRequestFailed(logger, (int)status, ex.Code == 0 ? null : ex.Code);
            throw new TwilioApiException(status, ex.Code == 0 ? null : ex.Code, ex.Message, ex.MoreInfo, ex);
        }
        catch (ApiConnectionException ex) when (ex.InnerException is HttpRequestException or OperationCanceledException)
        {
            ExceptionDispatchInfo.Throw(ex.InnerException);
            throw;
        }
        catch (ApiConnectionException ex)
        {
            throw new HttpRequestException($"Twilio could not be reached: {ex.InnerException?.Message ?? ex.Message}", ex);
        }
    }

    [LoggerMessage(EventId = 4101, EventName = "TWILIO_CALL_UPDATED", Level = LogLevel.Information, Message = "Twilio call {CallSid} updated ({Update}); status {CallStatus}")]
    private static partial void LogCallUpdated(ILogger logger, string callSid, string update, string? callStatus);

    [LoggerMessage(EventId = 4102, EventName = "TWILIO_CALL_GONE", Level = LogLevel.Information, Message = "Twilio call {CallSid} is already gone ({Update}, Twilio error {TwilioCode})")]
    private static partial void LogCallGone(ILogger logger, string callSid, string update, int? twilioCode);

    [LoggerMessage(EventId = 4103, EventName = "TWILIO_MESSAGE_SENT", Level = LogLevel.Information, Message = "Twilio message {MessageSid} created with status {MessageStatus}")]
    private static partial void LogMessageSent(ILogger logger, string messageSid, string messageStatus);

    [LoggerMessage(EventId = 4106, EventName = "TWILIO_REQUEST_FAILED", Level = LogLevel.Warning, Message = "Twilio request failed with HTTP {StatusCode}, Twilio error {TwilioCode}")]
    private static partial void LogRequestFailed(ILogger logger, int statusCode, int? twilioCode);
}
