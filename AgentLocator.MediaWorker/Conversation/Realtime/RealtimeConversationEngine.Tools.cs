using System.Text.Json;
using AgentLocator.Data.Calls;
using AgentLocator.Media;
using OpenAI.Realtime;

#pragma warning disable OPENAI002 // OpenAI.Realtime is experimental in the 2.x SDK.

namespace AgentLocator.MediaWorker.Conversation.Realtime;

/// <summary>
/// The tools, run when the response that called them is done (the provider takes no new response while one is
/// active): <c>save_lead</c> writes the CRM and the model hears the result and goes on; <c>end_call</c> and
/// <c>leave_voicemail</c> end the conversation once what the model said has played. A call that does not fit its
/// tool, or a write that fails, is answered to the model as an error; nothing of it reaches the call as an exception.
/// </summary>
public sealed partial class RealtimeConversationEngine
{
    private static readonly JsonSerializerOptions ResultJson = new(JsonSerializerDefaults.Web) { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private async Task RunToolsAsync(RealtimeProviderSession provider, List<(string CallId, string Name, string Arguments)> calls, bool spoke, bool cancelled)
    {
        var answered = false;
        foreach (var (callId, name, arguments) in calls)
        {
            string result;
            if (!ReceptionistTools.TryParse(name, arguments, out var call, out var error))
            {
                ConversationEngineLog.ToolRejected(_logger, _call.CallSid, name, error!);
                _services.Metrics.ToolCall(name, "invalid");
                result = Result(new { ok = false, error });
            }
            else if (call is ToolCall.SaveLead save)
            {
                result = await SaveLeadAsync(save.Lead);
            }
            else if (cancelled)
            {
                // The caller talked over the goodbye: they have more to say.
                _services.Metrics.ToolCall(name, "invalid");
                result = Result(new { ok = false, error = "the caller interrupted you; listen to them and continue the conversation" });
            }
            else
            {
                EndConversation(call!, spoke);
                return;
            }

            if (!provider.TrySend(new RealtimeClientCommandConversationItemCreate(RealtimeItem.CreateFunctionCallOutputItem(callId, result))))
            {
                HandOver(EngineFailures.SendStalled, "the provider's send queue is full");
                return;
            }

            answered = true;
        }

        if (answered && !cancelled)
        {
            // The model speaks again once it has the results; that reply is awaited like any other.
            lock (_gate)
            {
                AwaitReply(_output!.Now);
            }

            if (!provider.TrySend(new RealtimeClientCommandResponseCreate()))
            {
                HandOver(EngineFailures.SendStalled, "the provider's send queue is full");
            }
        }
    }

    private async Task<string> SaveLeadAsync(LeadFields lead)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(_options.WriteTimeout);
            var saved = await _services.Records.SaveLeadAsync(_call.CallId, lead, timeout.Token).WaitAsync(timeout.Token);
            lock (_gate)
            {
                _lead = saved;
                _leadSaved = true;
            }

            ConversationEngineLog.ToolCall(_logger, _call.CallSid, ReceptionistTools.SaveLeadName, "saved");
            _services.Metrics.ToolCall(ReceptionistTools.SaveLeadName, "ok");
            return Result(new { ok = true, saved = new { name = saved.Name, reason = saved.Reason, callback_time = saved.CallbackTime, notes = saved.Notes } });
        }
        catch (Exception ex) when (ex is not OutOfMemoryException && !_stop.IsCancellationRequested)
        {
            ConversationEngineLog.WriteFailed(_logger, _call.CallSid, "save_lead", ex);
            _services.Metrics.ToolCall(ReceptionistTools.SaveLeadName, "failed");
            return Result(new { ok = false, error = "the details could not be saved right now; keep talking with the caller and try save_lead again later" });
        }
    }

    /// <summary>
    /// end_call or leave_voicemail: nothing more is streamed; the call's receive loop, at its next frame, lets what
    /// the model said play out (or plays the goodbye / voicemail prompt when it said nothing), then ends the call.
    /// </summary>
    private void EndConversation(ToolCall call, bool spoke)
    {
        lock (_gate)
        {
            _ending = true;
            _replyDueBy = null;
        }

        var tool = call is ToolCall.EndCall ? ReceptionistTools.EndCallName : ReceptionistTools.LeaveVoicemailName;
        ConversationEngineLog.ToolCall(_logger, _call.CallSid, tool, "ending");
        _services.Metrics.ToolCall(tool, "ok");
        if (call is ToolCall.EndCall { Summary: { } summary })
        {
            _writes.Enqueue("summary", ct => _services.Records.SaveSummaryAsync(_call.CallId, summary, ct));
        }

        _output!.Post(tool, async ct =>
        {
            // The lead notification job (queued with the completion) must find the transcript and the summary.
            await _writes.DrainAsync(_options.WriteTimeout);
            return call is ToolCall.EndCall
                ? new ConversationReply(spoke ? [] : [Prompt(PromptKeys.Goodbye)], CallEnd.Completed, ReceptionistTools.EndCallName)
                : new ConversationReply(spoke ? [] : [Prompt(PromptKeys.VoicemailTransfer)], CallEnd.Voicemail, "caller_request");
        });
    }

    private static string Result(object value) => JsonSerializer.Serialize(value, ResultJson);
}
