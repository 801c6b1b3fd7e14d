using System.Net;

namespace AgentLocator.Smoke;

public sealed partial class SmokeRunner
{
    private const string GreetingPrompt = "greeting_he.mp3";
    private const string FallbackPrompt = "fallback_he.mp3";

    /// <summary>The number the smoke call dials: the throw-away business's, else <c>--business-number</c>.</summary>
    private string? CalledNumber => _businessNumber ?? _options.BusinessNumber;

    private List<KeyValuePair<string, string>> IncomingCallForm(string to) => Form(
        ("CallSid", _callSid), ("AccountSid", _accountSid), ("From", _callerNumber), ("To", to), ("Caller", _callerNumber), ("Called", to),
        ("CallStatus", "ringing"), ("Direction", "inbound"), ("ApiVersion", "2010-04-01"));

    private async Task CheckIncomingCallAsync(CancellationToken cancellationToken)
    {
        // A number nobody owns when the run has none: the answer is then 'not in service', without <Connect>.
        var to = CalledNumber ?? RandomMobileNumber();
        var form = IncomingCallForm(to);

        if (ValidatesSignatures)
        {
            await CheckAsync("webhook.incoming_call.unsigned", async ct =>
            {
                var reply = await PostWebhookAsync("/webhook/incoming_call", form, sign: false, ct);
                if (reply.Status != HttpStatusCode.Forbidden)
                {
                    throw new SmokeFailure($"an unsigned incoming_call got {reply.Code}, expected 403: this target accepts forged webhooks");
                }
                return "403 without X-Twilio-Signature";
            }, cancellationToken);
        }
        else
        {
            Skip("webhook.incoming_call.unsigned", "Development target: signatures are not validated");
        }

        if (!CanPostWebhooks)
        {
            Skip("webhook.incoming_call", NeedsTokenReason);
            Skip("webhook.incoming_call.twiml", NeedsTokenReason);
            return;
        }

        string body = "";
        var answered = await CheckAsync("webhook.incoming_call", async ct =>
        {
            var reply = await PostWebhookAsync("/webhook/incoming_call", form, sign: true, ct);
            if (reply.Status != HttpStatusCode.OK)
            {
                throw new SmokeFailure($"expected 200 TwiML, got {reply.Code}: {reply.Snippet()}");
            }
            Within(reply, _options.IncomingCallBudget, "incoming_call");
            if (reply.MediaType != "text/xml")
            {
                throw new SmokeFailure($"Content-Type is '{reply.MediaType}', not text/xml (Twilio error 11200/12100)");
            }
            if (!reply.NoStore)
            {
                throw new SmokeFailure("Cache-Control lacks no-store: a proxy could replay one caller's TwiML (and stream token) to another");
            }
            body = reply.Body;
            return $"200 text/xml, no-store, in {reply.Ms} ms";
        }, cancellationToken);

        if (!answered)
        {
            Skip("webhook.incoming_call.twiml", "incoming_call failed");
            return;
        }
        if (CalledNumber is null)
        {
            await CheckAsync("webhook.incoming_call.twiml", _ =>
            {
                var twiml = IncomingCallTwiml.Parse(body);
                if (twiml.HasConnect || twiml.Plays.Count == 0)
                {
                    throw new SmokeFailure("a number nobody owns should get a <Play> and no <Connect>");
                }
                return Task.FromResult(
                    "no business number (give --api-key or --business-number): answered 'not in service', so <Connect><Stream> and the call could not be checked");
            }, cancellationToken);
            return;
        }
        await CheckAsync("webhook.incoming_call.twiml", _ => Task.FromResult(CheckGreetingAndStream(body)), cancellationToken);
    }

    private string CheckGreetingAndStream(string body)
    {
        var twiml = IncomingCallTwiml.Parse(body);
        var problems = new List<string>();
        if (!twiml.Plays.Any(p => p.EndsWith("/" + GreetingPrompt, StringComparison.Ordinal)))
        {
            problems.Add($"no <Play> of {GreetingPrompt} (plays: {string.Join(", ", twiml.Plays)})" + (twiml.HasConnect ? "" : " — is the number owned by an active business?"));
        }
        if (!twiml.HasConnect)
        {
            problems.Add("no <Connect>");
        }
        else
        {
            if (twiml.ConnectAction is null || !twiml.ConnectAction.EndsWith("/webhook/stream_ended", StringComparison.Ordinal))
            {
                problems.Add($"<Connect action> is '{twiml.ConnectAction}', not …/webhook/stream_ended (no voicemail when the stream ends)");
            }
            if (!Uri.TryCreate(twiml.StreamUrl, UriKind.Absolute, out var stream))
            {
                problems.Add($"<Stream url> '{twiml.StreamUrl}' is not an absolute URL");
            }
            else
            {
                var insecureAllowed = IsDevelopment || _options.AllowInsecureWebSocket;
                if (stream.Scheme != "wss" && !(stream.Scheme == "ws" && insecureAllowed))
                {
                    problems.Add($"<Stream url> is {stream.Scheme}://, Twilio needs wss:// (error 31922)" + (stream.Scheme == "ws" ? "; --allow-ws accepts ws:// for a local run" : ""));
                }
                if (stream.AbsolutePath.TrimEnd('/') != "/ws/twilio-media")
                {
                    problems.Add($"<Stream url> path is {stream.AbsolutePath}, not /ws/twilio-media");
                }
                if (stream.Query.Length > 0)
                {
                    problems.Add("<Stream url> carries a query string (Twilio drops it: use <Parameter>)");
                }
            }
            foreach (var name in new[] { "callSid", "callId", "businessId", "token" })
            {
                if (!twiml.Parameters.TryGetValue(name, out var value) || value.Length == 0)
                {
                    problems.Add($"no <Parameter name=\"{name}\">");
                }
            }
            if (twiml.Parameters.TryGetValue("callSid", out var sid) && sid != _callSid)
            {
                problems.Add($"<Parameter callSid> is {sid}, not the call's {_callSid}");
            }
            if (_businessId is { } business && twiml.Parameters.TryGetValue("businessId", out var owner) && owner != business.ToString("D"))
            {
                problems.Add($"<Parameter businessId> is {owner}, not the smoke business {business:D}");
            }
        }
        if (problems.Count > 0)
        {
            throw new SmokeFailure(string.Join("; ", problems));
        }
        _twiml = twiml;
        return $"<Play> greeting, <Connect action=…/webhook/stream_ended><Stream url={twiml.StreamUrl}> with {twiml.Parameters.Count} parameters";
    }

    /// <summary>What Twilio posts after the stream: its status, the recording action (caller hung up, nothing recorded), the call's end.</summary>
    private async Task CheckCallbacksAsync(CancellationToken cancellationToken)
    {
        var callbacks = new (string Name, string Path, List<KeyValuePair<string, string>> Form, TimeSpan Budget)[]
        {
            ("webhook.stream_status", "/webhook/stream_status", Form(
                ("AccountSid", _accountSid), ("CallSid", _callSid), ("StreamSid", _streamSid), ("StreamName", "smoke"),
                ("StreamEvent", "stream-stopped"), ("Timestamp", DateTimeOffset.UtcNow.ToString("O"))), _options.StatusCallbackBudget),
            // No RecordingUrl: nothing is queued, so no job ever tries to download a recording that does not exist.
            ("webhook.handle_recording", "/webhook/handle_recording", Form(
                ("AccountSid", _accountSid), ("CallSid", _callSid), ("Digits", "hangup"), ("RecordingDuration", "0")), _options.RecordingCallbackBudget),
            ("webhook.call_status", "/webhook/call_status", Form(
                ("AccountSid", _accountSid), ("CallSid", _callSid), ("CallStatus", "completed"), ("CallDuration", "5"),
                ("SequenceNumber", "0"), ("CallbackSource", "call-progress-events"), ("Timestamp", DateTimeOffset.UtcNow.ToString("O"))), _options.StatusCallbackBudget),
        };
        foreach (var (name, path, form, budget) in callbacks)
        {
            if (!CanPostWebhooks)
            {
                Skip(name, NeedsTokenReason);
                continue;
            }
            await CheckAsync(name, async ct =>
            {
                var reply = await PostWebhookAsync(path, form, sign: true, ct);
                if (!reply.IsSuccess)
                {
                    throw new SmokeFailure($"expected 2xx, got {reply.Code}: {reply.Snippet()}");
                }
                Within(reply, budget, path);
                return $"{reply.Code} in {reply.Ms} ms (budget {budget.TotalMilliseconds:0} ms)";
            }, cancellationToken);
        }
    }

    private async Task CheckPromptsAsync(CancellationToken cancellationToken)
    {
        foreach (var prompt in new[] { GreetingPrompt, FallbackPrompt })
        {
            await CheckAsync($"prompt.{Path.GetFileNameWithoutExtension(prompt)}", async ct =>
            {
                var reply = (await GetAsync(ApiUrl("/static/tts/" + prompt), ct)).Expect(HttpStatusCode.OK);
                if (reply.MediaType is null || !reply.MediaType.StartsWith("audio/", StringComparison.Ordinal))
                {
                    throw new SmokeFailure($"Content-Type is '{reply.MediaType}', not audio/*: Twilio cannot play it");
                }
                var length = reply.ContentHeaders.ContentLength ?? reply.Body.Length;
                if (length == 0)
                {
                    throw new SmokeFailure("the prompt is empty");
                }
                return $"200 {reply.MediaType}, {length} bytes";
            }, cancellationToken);
        }
    }
}
