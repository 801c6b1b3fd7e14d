using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace AgentLocator.Tests.Infrastructure;

public sealed partial class FakeTwilioServer
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
        var body = buffer.ToArray();
        var form = new List<KeyValuePair<string, string>>();
        if (request.HasFormContentType)
        {
            request.Body = new MemoryStream(body);
            form = (await request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false)).ToPairs();
        }

        var authenticated = IsAuthenticated(request.Headers.Authorization.ToString());
        Reply reply;
        if (!authenticated)
        {
            reply = Error(401, 20003, "Authenticate");
        }
        else
        {
            var failure = TakeFailure(request.Path.Value ?? string.Empty);
            if (failure?.Delay is { } delay)
            {
                try
                {
                    await Task.Delay(delay, context.RequestAborted).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    Record(context, form, body, authenticated, new Reply(499, "text/plain", [], null, null));
                    return;
                }
            }

            reply = failure is { StatusCode: > 0 }
                ? Error(failure.StatusCode, failure.Code, failure.Message, failure.RetryAfter)
                : Route(request.Method, request.Path.Value ?? string.Empty, form);
        }

        Record(context, form, body, authenticated, reply);

        var response = context.Response;
        response.StatusCode = reply.Status;
        response.ContentType = reply.ContentType;
        if (reply.RetryAfter is { } retryAfter)
        {
            response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        if (reply.Status == 401)
        {
            response.Headers.WWWAuthenticate = "Basic realm=\"Twilio API\"";
        }

        await response.Body.WriteAsync(reply.Body, context.RequestAborted).ConfigureAwait(false);
    }

    private Reply Route(string method, string path, List<KeyValuePair<string, string>> form)
    {
        var match = AccountPath().Match(path);
        if (!match.Success || match.Groups["account"].Value != AccountSid)
        {
            return NotFound(path);
        }

        var rest = match.Groups["rest"].Value;
        if (method == HttpMethods.Post && CallPath().Match(rest) is { Success: true } call)
        {
            return UpdateCall(call.Groups["sid"].Value, form);
        }

        if (method == HttpMethods.Post && rest == "Messages.json")
        {
            return CreateMessage(form);
        }

        if (method == HttpMethods.Get && MessagePath().Match(rest) is { Success: true } message)
        {
            lock (_gate)
            {
                var found = _messages.FirstOrDefault(m => m.Sid == message.Groups["sid"].Value);
                return found is null ? NotFound(path) : JsonReply(200, MessageJson(found, "queued"));
            }
        }

        if (method == HttpMethods.Get && RecordingPath().Match(rest) is { Success: true } recording)
        {
            return DownloadRecording(recording.Groups["sid"].Value, recording.Groups["ext"].Value, path);
        }

        return NotFound(path);
    }

    private Reply UpdateCall(string callSid, List<KeyValuePair<string, string>> form)
    {
        var url = form.FirstOrDefault(p => p.Key == "Url").Value;
        var twiml = form.FirstOrDefault(p => p.Key == "Twiml").Value;
        var status = form.FirstOrDefault(p => p.Key == "Status").Value;

        lock (_gate)
        {
            if (!_calls.TryGetValue(callSid, out var call))
            {
                if (!UnknownCallsAreInProgress)
                {
                    return NotFound($"/Calls/{callSid}.json");
                }

                call = GetOrAddCall(callSid);
            }

            if (call.Gone)
            {
                return NotFound($"/Calls/{callSid}.json");
            }

            if (call.Status is "completed" or "canceled" or "failed" or "busy" or "no-answer")
            {
                return Error(400, 21220, "Call is not in-progress. Cannot redirect.");
            }

            if (url is null && twiml is null && status is null)
            {
                return Error(400, 21205, "Url, Twiml or Status is required.");
            }

            if (url is not null && !(Uri.TryCreate(url, UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https"))
            {
                return Error(400, 21205, $"Url is not a valid URL: {url}");
            }

            if (status is not null && status is not ("completed" or "canceled"))
            {
                return Error(400, 21218, $"Invalid Status: {status}");
            }

            call.UpdateList.Add(form);
            if (status is not null)
            {
                call.Status = "completed";
            }

            return JsonReply(200, new Dictionary<string, object?>
            {
                ["sid"] = call.Sid,
                ["account_sid"] = AccountSid,
                ["status"] = call.Status,
                ["api_version"] = "2010-04-01",
                ["uri"] = $"/2010-04-01/Accounts/{AccountSid}/Calls/{call.Sid}.json",
            });
        }
    }

    private Reply CreateMessage(List<KeyValuePair<string, string>> form)
    {
        string? Field(string name) => form.FirstOrDefault(p => p.Key == name).Value;
        var to = Field("To");
        var from = Field("From");
        var body = Field("Body");
        var media = form.Where(p => p.Key == "MediaUrl").Select(p => p.Value).ToList();
        var contentSid = Field("ContentSid");

        if (string.IsNullOrEmpty(to))
        {
            return Error(400, 21604, "A 'To' phone number is required.");
        }

        if (string.IsNullOrEmpty(from))
        {
            return Error(400, 21603, "A 'From' phone number is required.");
        }

        if (string.IsNullOrEmpty(body) && media.Count == 0 && string.IsNullOrEmpty(contentSid))
        {
            return Error(400, 21602, "Message body is required.");
        }

        if (body is { Length: > 1600 })
        {
            return Error(400, 21617, "The concatenated message body exceeds the 1600 character limit.");
        }

        if (!PhoneNumber().IsMatch(to))
        {
            return Error(400, 21211, $"Invalid 'To' Phone Number: {to}");
        }

        var message = new FakeTwilioMessage(
            "SM" + RandomNumberGenerator.GetHexString(32, lowercase: true),
            to,
            from,
            body,
            media,
            Field("StatusCallback"),
            contentSid,
            Field("ContentVariables"),
            DateTimeOffset.UtcNow);
        lock (_gate)
        {
            _messages.Add(message);
        }

        return JsonReply(201, MessageJson(message, "queued"));
    }

    private Reply DownloadRecording(string recordingSid, string extension, string path)
    {
        lock (_gate)
        {
            if (!_recordings.TryGetValue(recordingSid, out var recording))
            {
                return NotFound(path);
            }

            if (recording.NotReadyRequests > 0)
            {
                recording.NotReadyRequests--;
                return NotFound(path);
            }

            recording.Downloads++;
            return extension.Equals(".mp3", StringComparison.OrdinalIgnoreCase)
                ? new Reply(200, "audio/mpeg", recording.Mp3, null, null)
                : new Reply(200, "audio/x-wav", recording.Wav, null, null);
        }
    }

    private Dictionary<string, object?> MessageJson(FakeTwilioMessage message, string status) => new()
    {
        ["sid"] = message.Sid,
        ["account_sid"] = AccountSid,
        ["to"] = message.To,
        ["from"] = message.From,
        ["body"] = message.Body ?? string.Empty,
        ["status"] = status,
        ["num_media"] = message.MediaUrls.Count.ToString(CultureInfo.InvariantCulture),
        ["num_segments"] = "1",
        ["direction"] = "outbound-api",
        ["api_version"] = "2010-04-01",
        ["date_created"] = message.CreatedAt.ToString("r", CultureInfo.InvariantCulture),
        ["error_code"] = null,
        ["error_message"] = null,
        ["price"] = null,
        ["uri"] = $"/2010-04-01/Accounts/{AccountSid}/Messages/{message.Sid}.json",
    };

    private bool IsAuthenticated(string authorization)
    {
        const string prefix = "Basic ";
        if (!authorization.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        try
        {
            var credentials = Encoding.UTF8.GetBytes($"{AccountSid}:{AuthToken}");
            return CryptographicOperations.FixedTimeEquals(Convert.FromBase64String(authorization[prefix.Length..].Trim()), credentials);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private FakeTwilioFailure? TakeFailure(string path)
    {
        lock (_gate)
        {
            var scripted = _failures.FirstOrDefault(f => f.Remaining > 0 && (f.PathContains is null || path.Contains(f.PathContains, StringComparison.Ordinal)));
            if (scripted is null)
            {
                return null;
            }

            if (--scripted.Remaining == 0)
            {
                _failures.Remove(scripted);
            }

            return scripted.Failure;
        }
    }

    private void Record(HttpContext context, List<KeyValuePair<string, string>> form, byte[] body, bool authenticated, Reply reply)
    {
        var request = context.Request;
        var recorded = new FakeTwilioRequest(
            request.Method,
            request.Path.Value ?? string.Empty,
            request.QueryString.Value ?? string.Empty,
            request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            form,
            body,
            authenticated,
            reply.Status,
            reply.TwilioCode,
            DateTimeOffset.UtcNow);

        List<TaskCompletionSource<FakeTwilioRequest>> satisfied;
        lock (_gate)
        {
            _requests.Add(recorded);
            var matching = _waiters.Where(w => w.Predicate(recorded)).ToList();
            _waiters.RemoveAll(matching.Contains);
            satisfied = matching.Select(w => w.Waiter).ToList();
        }

        foreach (var waiter in satisfied)
        {
            waiter.TrySetResult(recorded);
        }
    }

    private static Reply NotFound(string path) =>
        Error(404, 20404, $"The requested resource {path} was not found");

    private static Reply Error(int status, int? code, string message, TimeSpan? retryAfter = null)
    {
        var json = new Dictionary<string, object?>
        {
            ["code"] = code,
            ["message"] = message,
            ["more_info"] = code is null ? null : $"https://www.twilio.com/docs/errors/{code}",
            ["status"] = status,
        };
        return new Reply(status, "application/json; charset=utf-8", JsonSerializer.SerializeToUtf8Bytes(json, Json), code, retryAfter);
    }

    private static Reply JsonReply(int status, Dictionary<string, object?> json) =>
        new(status, "application/json; charset=utf-8", JsonSerializer.SerializeToUtf8Bytes(json, Json), null, null);

    [GeneratedRegex("^/2010-04-01/Accounts/(?<account>[^/]+)/(?<rest>.+)$")]
    private static partial Regex AccountPath();

    [GeneratedRegex("^Calls/(?<sid>[^/]+)\\.json$")]
    private static partial Regex CallPath();

    [GeneratedRegex("^Messages/(?<sid>[^/]+)\\.json$")]
    private static partial Regex MessagePath();

    [GeneratedRegex("^Recordings/(?<sid>RE[0-9a-fA-F]{32})(?<ext>\\.wav|\\.mp3)?$")]
    private static partial Regex RecordingPath();

    [GeneratedRegex("^(whatsapp:)?\\+[1-9][0-9]{6,14}$")]
    private static partial Regex PhoneNumber();

    private sealed record Reply(int Status, string ContentType, byte[] Body, int? TwilioCode, TimeSpan? RetryAfter);
}
