using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace AgentLocator.Testing.OpenAI;

/// <summary>
/// One Realtime session of the <see cref="FakeRealtimeServer"/>: what the client sent (every event type, the session
/// configuration, the caller audio, truncates, tool results, cancels) and what it answered. Its voice detector runs
/// on the appended audio's own clock (bytes received at the session's input rate), as the provider's does.
/// </summary>
public sealed class FakeRealtimeSession
{
    /// <summary>Audio per <c>response.output_audio.delta</c>: 100 ms of 8 kHz mu-law.</summary>
    public const int DeltaBytes = 800;

    private const int FrameBytes = 160;

    /// <summary>Mean absolute 16-bit sample above which a 20 ms frame is speech (about −40 dBFS).</summary>
    private const int SpeechLevel = 330;

    private readonly WebSocket _socket;
    private readonly Func<string, FakeRealtimeScript?>? _scriptByInstructions;
    private FakeRealtimeScript _script;
    private readonly TimeSpan _deltaInterval;
    private readonly CancellationToken _stopping;
    private readonly SemaphoreSlim _send = new(1, 1);
    private readonly Lock _gate = new();
    private readonly ConcurrentQueue<string> _clientEvents = new();
    private readonly ConcurrentQueue<FakeTruncate> _truncates = new();
    private readonly ConcurrentQueue<FakeFunctionOutput> _functionOutputs = new();
    private readonly ConcurrentQueue<FakeResponse> _responses = new();
    private readonly ConcurrentQueue<string> _errorsSent = new();
    private readonly ConcurrentQueue<int> _appendSizes = new();
    private readonly Dictionary<string, int> _assistantAudio = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly byte[] _pendingFrame = new byte[FrameBytes];
    private int _pendingLength;

    private int _nextId;
    private int _turn;
    private long _audioBytes;
    private long _detectedBytes;
    private string? _previousItem;

    // Voice detector state (receive loop only).
    private bool _speaking;
    private int _voicedRun;
    private long _lastVoicedEndMs;
    private long _silenceMs;
    private string? _speechItem;

    // The response being generated.
    private (FakeResponse Response, CancellationTokenSource Cancel)? _active;
    private FakeReply? _followUp;
    private FakeReply? _queuedTurnReply;

    public FakeRealtimeSession(WebSocket socket, string model, FakeRealtimeScript script, TimeSpan deltaInterval, CancellationToken stopping,
        Func<string, FakeRealtimeScript?>? scriptByInstructions = null)
    {
        _scriptByInstructions = scriptByInstructions;
        _socket = socket;
        Model = model;
        _script = script;
        _deltaInterval = deltaInterval;
        _stopping = stopping;
    }

    public string Model { get; }

    /// <summary>Every client event's <c>type</c>, in order.</summary>
    public IReadOnlyList<string> ClientEvents => _clientEvents.ToArray();

    /// <summary>The last <c>session.update</c>'s <c>session</c> object.</summary>
    public JsonElement? SessionUpdate { get; private set; }

    public string InputFormat { get; private set; } = "audio/pcm";

    public string OutputFormat { get; private set; } = "audio/pcm";

    public string? Voice { get; private set; }

    public string? Instructions { get; private set; }

    public string TurnDetection { get; private set; } = "server_vad";

    public bool CreateResponse { get; private set; } = true;

    public bool InterruptResponse { get; private set; } = true;

    public int SilenceMs { get; private set; } = 500;

    public IReadOnlyList<string> ToolNames { get; private set; } = [];

    public string? TranscriptionModel { get; private set; }

    public string? TranscriptionLanguage { get; private set; }

    /// <summary>The audio of each <c>input_audio_buffer.append</c>, in bytes, in order.</summary>
    public IReadOnlyList<int> AppendSizes => _appendSizes.ToArray();

    /// <summary>Caller audio received (bytes of the input format).</summary>
    public long AudioBytesReceived => Interlocked.Read(ref _audioBytes);

    public IReadOnlyList<FakeTruncate> Truncates => _truncates.ToArray();

    public IReadOnlyList<FakeFunctionOutput> FunctionOutputs => _functionOutputs.ToArray();

    public IReadOnlyList<FakeResponse> Responses => _responses.ToArray();

    public IReadOnlyList<string> ErrorsSent => _errorsSent.ToArray();

    /// <summary>Caller turns committed so far.</summary>
    public int TurnsCommitted => Volatile.Read(ref _turn);

    public int Cancels => _clientEvents.Count(e => e == "response.cancel");

    /// <summary>Completes when the client closed or the socket broke.</summary>
    public Task Closed => _closed.Task;

    public void Abort() => _socket.Abort();

    internal async Task RunAsync()
    {
        try
        {
            await SendAsync(w =>
            {
                w.WriteString("type", "session.created");
                WriteSession(w);
            });
            var buffer = new ArrayBufferWriter<byte>(64 * 1024);
            var chunk = new byte[16 * 1024];
            while (_socket.State == WebSocketState.Open)
            {
                buffer.ResetWrittenCount();
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(chunk.AsMemory(), _stopping);
                    buffer.Write(chunk.AsSpan(0, result.Count));
                }
                while (!result.EndOfMessage);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                    break;
                }

                await HandleAsync(buffer.WrittenMemory);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            // The client went away or the fake dropped the socket on purpose.
        }
        finally
        {
            lock (_gate)
            {
                _active?.Cancel.Cancel();
            }

            _closed.TrySetResult();
        }
    }

    private async Task HandleAsync(ReadOnlyMemory<byte> message)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(message);
        }
        catch (JsonException)
        {
            await ErrorAsync("invalid_request_error", "invalid_json", "The message is not valid JSON.", null);
            return;
        }

        // The handlers read (or clone) what they keep before the message's buffer is reused.
        using (document)
        {
            await HandleAsync(document.RootElement);
        }
    }

    private async Task HandleAsync(JsonElement root)
    {
        var type = root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
        var eventId = root.TryGetProperty("event_id", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
        _clientEvents.Enqueue(type);
        switch (type)
        {
            case "session.update":
                await UpdateSessionAsync(root, eventId);
                break;
            case "input_audio_buffer.append":
                await AppendAsync(root, eventId);
                break;
            case "input_audio_buffer.commit":
                if (_speechItem is null && _audioBytes == 0)
                {
                    await ErrorAsync("invalid_request_error", "input_audio_buffer_commit_empty", "The input audio buffer is empty.", eventId);
                }
                else
                {
                    await CommitTurnAsync(_speechItem ?? NewId("item"), _audioBytes * 1000 / BytesPerSecond);
                }

                break;
            case "input_audio_buffer.clear":
                _speaking = false;
                _speechItem = null;
                await SendAsync(w => w.WriteString("type", "input_audio_buffer.cleared"));
                break;
            case "conversation.item.create":
                await CreateItemAsync(root, eventId);
                break;
            case "conversation.item.truncate":
                await TruncateAsync(root, eventId);
                break;
            case "response.create":
                await ClientResponseAsync(eventId);
                break;
            case "response.cancel":
                if (!CancelActive())
                {
                    await ErrorAsync("invalid_request_error", "response_cancel_not_active", "Cancellation failed: no active response found.", eventId);
                }

                break;
            default:
                await ErrorAsync("invalid_request_error", "invalid_value", $"Invalid value: '{type}'. Supported values are the Realtime client events.", eventId);
                break;
        }
    }

    private int BytesPerSecond => InputFormat == "audio/pcm" ? 48_000 : 8_000;

    private async Task UpdateSessionAsync(JsonElement root, string? eventId)
    {
        if (!root.TryGetProperty("session", out var session) || session.ValueKind != JsonValueKind.Object)
        {
            await ErrorAsync("invalid_request_error", "missing_required_parameter", "Missing required parameter: 'session'.", eventId);
            return;
        }

        if (!session.TryGetProperty("type", out var sessionType) || sessionType.GetString() != "realtime")
        {
            await ErrorAsync("invalid_request_error", "missing_required_parameter", "Missing required parameter: 'session.type'.", eventId);
            return;
        }

        SessionUpdate = session.Clone();
        if (session.TryGetProperty("instructions", out var instructions))
        {
            Instructions = instructions.GetString();
            if (_scriptByInstructions?.Invoke(Instructions ?? "") is { } chosen)
            {
                _script = chosen;
            }
        }

        if (session.TryGetProperty("audio", out var audio))
        {
            if (audio.TryGetProperty("input", out var input))
            {
                if (input.TryGetProperty("format", out var format) && format.TryGetProperty("type", out var inputType))
                {
                    InputFormat = inputType.GetString()!;
                }

                if (input.TryGetProperty("transcription", out var transcription) && transcription.ValueKind == JsonValueKind.Object)
                {
                    TranscriptionModel = transcription.TryGetProperty("model", out var m) ? m.GetString() : null;
                    TranscriptionLanguage = transcription.TryGetProperty("language", out var l) ? l.GetString() : null;
                }

                if (input.TryGetProperty("turn_detection", out var detection) && detection.ValueKind == JsonValueKind.Object)
                {
                    TurnDetection = detection.GetProperty("type").GetString()!;
                    CreateResponse = !detection.TryGetProperty("create_response", out var create) || create.GetBoolean();
                    InterruptResponse = !detection.TryGetProperty("interrupt_response", out var interrupt) || interrupt.GetBoolean();
                    SilenceMs = TurnDetection == "semantic_vad"
                        ? (detection.TryGetProperty("eagerness", out var eagerness) ? eagerness.GetString() : "auto") switch
                        {
                            "low" => 1000,
                            "high" => 250,
                            _ => 500,
                        }
                        : detection.TryGetProperty("silence_duration_ms", out var silence) ? silence.GetInt32() : 500;
                }
            }

            if (audio.TryGetProperty("output", out var output))
            {
                if (output.TryGetProperty("format", out var format) && format.TryGetProperty("type", out var outputType))
                {
                    OutputFormat = outputType.GetString()!;
                }

                if (output.TryGetProperty("voice", out var voice))
                {
                    Voice = voice.GetString();
                }
            }
        }

        if (session.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array)
        {
            ToolNames = tools.EnumerateArray().Select(tool => tool.GetProperty("name").GetString()!).ToList();
        }

        foreach (var format in new[] { InputFormat, OutputFormat })
        {
            if (format is not ("audio/pcm" or "audio/pcmu" or "audio/pcma"))
            {
                await ErrorAsync("invalid_request_error", "invalid_value", $"Invalid audio format '{format}'.", eventId);
                return;
            }
        }

        await SendAsync(w =>
        {
            w.WriteString("type", "session.updated");
            WriteSession(w);
        });
    }

    private async Task AppendAsync(JsonElement root, string? eventId)
    {
        if (!root.TryGetProperty("audio", out var encoded) || encoded.ValueKind != JsonValueKind.String || !encoded.TryGetBytesFromBase64(out var audio))
        {
            await ErrorAsync("invalid_request_error", "invalid_value", "Invalid 'audio': expected base64-encoded audio.", eventId);
            return;
        }

        Interlocked.Add(ref _audioBytes, audio.Length);
        _appendSizes.Enqueue(audio.Length);
        if (InputFormat != "audio/pcmu")
        {
            return; // the detector below understands mu-law only; this fake is for phone audio
        }

        for (var offset = 0; offset < audio.Length;)
        {
            var take = Math.Min(FrameBytes - _pendingLength, audio.Length - offset);
            audio.AsSpan(offset, take).CopyTo(_pendingFrame.AsSpan(_pendingLength));
            (offset, _pendingLength) = (offset + take, _pendingLength + take);
            if (_pendingLength == FrameBytes)
            {
                _pendingLength = 0;
                await DetectAsync(_pendingFrame);
            }
        }
    }

    /// <summary>An energy voice detector over 20 ms frames, on the appended audio's own clock.</summary>
    private async Task DetectAsync(byte[] frame)
    {
        _detectedBytes += frame.Length;
        var frameEndMs = _detectedBytes * 1000 / BytesPerSecond;
        long level = 0;
        foreach (var b in frame)
        {
            level += Math.Abs(MuLawToLinear(b));
        }

        var voiced = level / frame.Length > SpeechLevel;
        if (!_speaking)
        {
            _voicedRun = voiced ? _voicedRun + 1 : 0;
            if (_voicedRun >= 3)
            {
                _speaking = true;
                _silenceMs = 0;
                _lastVoicedEndMs = frameEndMs;
                _speechItem = NewId("item");
                var startMs = Math.Max(0, frameEndMs - 60 - 300);
                await SendAsync(w =>
                {
                    w.WriteString("type", "input_audio_buffer.speech_started");
                    w.WriteNumber("audio_start_ms", startMs);
                    w.WriteString("item_id", _speechItem);
                });
                if (InterruptResponse)
                {
                    CancelActive();
                }
            }

            return;
        }

        if (voiced)
        {
            _lastVoicedEndMs = frameEndMs;
            _silenceMs = 0;
            return;
        }

        _silenceMs += 20;
        if (_silenceMs >= SilenceMs)
        {
            _speaking = false;
            _voicedRun = 0;
            var item = _speechItem!;
            _speechItem = null;
            await SendAsync(w =>
            {
                w.WriteString("type", "input_audio_buffer.speech_stopped");
                w.WriteNumber("audio_end_ms", _lastVoicedEndMs);
                w.WriteString("item_id", item);
            });
            await CommitTurnAsync(item, _lastVoicedEndMs);
        }
    }

    /// <summary>A caller turn: committed, added, transcribed (the script's words), and answered when <c>create_response</c> is on.</summary>
    private async Task CommitTurnAsync(string item, long endMs)
    {
        var index = Interlocked.Increment(ref _turn) - 1;
        var previous = _previousItem;
        _previousItem = item;
        await SendAsync(w =>
        {
            w.WriteString("type", "input_audio_buffer.committed");
            WriteNullableString(w, "previous_item_id", previous);
            w.WriteString("item_id", item);
        });
        await SendAsync(w =>
        {
            w.WriteString("type", "conversation.item.added");
            WriteNullableString(w, "previous_item_id", previous);
            w.WriteStartObject("item");
            w.WriteString("id", item);
            w.WriteString("object", "realtime.item");
            w.WriteString("type", "message");
            w.WriteString("status", "completed");
            w.WriteString("role", "user");
            w.WriteStartArray("content");
            w.WriteStartObject();
            w.WriteString("type", "input_audio");
            w.WriteNull("transcript");
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        });
        var turn = index < _script.Turns.Count ? _script.Turns[index] : null;
        await SendAsync(w =>
        {
            w.WriteString("type", "conversation.item.input_audio_transcription.completed");
            w.WriteString("item_id", item);
            w.WriteNumber("content_index", 0);
            w.WriteString("transcript", turn?.CallerTranscript ?? "");
            w.WriteStartObject("usage");
            w.WriteString("type", "duration");
            w.WriteNumber("seconds", Math.Max(1, endMs / 1000));
            w.WriteEndObject();
        });
        if (!CreateResponse || turn is null)
        {
            return;
        }

        lock (_gate)
        {
            if (_active is not null)
            {
                _queuedTurnReply = turn.Reply;
                return;
            }
        }

        StartResponse(turn.Reply);
    }

    private async Task CreateItemAsync(JsonElement root, string? eventId)
    {
        if (!root.TryGetProperty("item", out var item) || !item.TryGetProperty("type", out var itemType))
        {
            await ErrorAsync("invalid_request_error", "missing_required_parameter", "Missing required parameter: 'item.type'.", eventId);
            return;
        }

        var id = NewId("item");
        if (itemType.GetString() == "function_call_output")
        {
            var callId = item.TryGetProperty("call_id", out var c) ? c.GetString() : null;
            var output = item.TryGetProperty("output", out var o) ? o.GetString() : null;
            if (callId is null || output is null)
            {
                await ErrorAsync("invalid_request_error", "missing_required_parameter", "function_call_output needs 'call_id' and 'output'.", eventId);
                return;
            }

            _functionOutputs.Enqueue(new FakeFunctionOutput(callId, output));
        }

        var previous = _previousItem;
        _previousItem = id;
        await SendAsync(w =>
        {
            w.WriteString("type", "conversation.item.added");
            WriteNullableString(w, "previous_item_id", previous);
            w.WritePropertyName("item");
            item.WriteTo(w);
        });
    }

    /// <summary>Checks a truncate the way the API does: a known assistant audio item, content 0, and no further than the audio sent.</summary>
    private async Task TruncateAsync(JsonElement root, string? eventId)
    {
        var item = root.TryGetProperty("item_id", out var i) ? i.GetString() : null;
        var contentIndex = root.TryGetProperty("content_index", out var c) ? c.GetInt32() : -1;
        var endMs = root.TryGetProperty("audio_end_ms", out var a) ? a.GetInt32() : -1;
        int sentBytes;
        lock (_gate)
        {
            sentBytes = item is not null && _assistantAudio.TryGetValue(item, out var bytes) ? bytes : -1;
        }

        _truncates.Enqueue(new FakeTruncate(item ?? "", contentIndex, endMs, sentBytes * 1000 / 8000, Stopwatch.GetTimestamp()));
        if (sentBytes < 0)
        {
            await ErrorAsync("invalid_request_error", "item_not_found", $"Item with item_id not found: {item}", eventId);
            return;
        }

        if (contentIndex != 0 || endMs < 0 || endMs > sentBytes * 1000 / 8000)
        {
            await ErrorAsync("invalid_request_error", "invalid_value",
                $"audio_end_ms ({endMs}) must be at most the audio's duration ({sentBytes / 8} ms) and content_index 0.", eventId);
            return;
        }

        await SendAsync(w =>
        {
            w.WriteString("type", "conversation.item.truncated");
            w.WriteString("item_id", item);
            w.WriteNumber("content_index", 0);
            w.WriteNumber("audio_end_ms", endMs);
        });
    }

    private async Task ClientResponseAsync(string? eventId)
    {
        FakeReply reply;
        lock (_gate)
        {
            if (_active is not null)
            {
                reply = null!;
            }
            else
            {
                reply = _followUp ?? _script.Unprompted ?? new FakeReply(Tone(400), "כן?");
                _followUp = null;
            }
        }

        if (reply is null)
        {
            await ErrorAsync("invalid_request_error", "conversation_already_has_active_response",
                "Conversation already has an active response in progress.", eventId);
            return;
        }

        StartResponse(reply);
    }

    private bool CancelActive()
    {
        lock (_gate)
        {
            if (_active is not { } active)
            {
                return false;
            }

            active.Cancel.Cancel();
            return true;
        }
    }

    private void StartResponse(FakeReply reply)
    {
        var response = new FakeResponse(NewId("resp"), NewId("item"));
        var cancel = CancellationTokenSource.CreateLinkedTokenSource(_stopping);
        lock (_gate)
        {
            _active = (response, cancel);
        }

        _ = Task.Run(() => StreamAsync(reply, response, cancel));
    }

    private async Task StreamAsync(FakeReply reply, FakeResponse response, CancellationTokenSource cancel)
    {
        try
        {
            await StreamReplyAsync(reply, response, cancel.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or IOException or OperationCanceledException)
        {
            // The socket is gone.
        }
        finally
        {
            FakeReply? next;
            lock (_gate)
            {
                _active = null;
                next = _queuedTurnReply;
                _queuedTurnReply = null;
            }

            cancel.Dispose();
            if (next is not null && _socket.State == WebSocketState.Open)
            {
                StartResponse(next);
            }
        }
    }

    private async Task StreamReplyAsync(FakeReply reply, FakeResponse response, CancellationToken cancel)
    {
        switch (reply.Failure)
        {
            case FakeFailure.ErrorEvent:
                await ErrorAsync("server_error", "server_error", "The server had an error while processing your request.", null);
                return;
            case FakeFailure.DropSocket:
                _socket.Abort();
                return;
            case FakeFailure.Silent:
                return;
        }

        _responses.Enqueue(response);
        await SendAsync(w =>
        {
            w.WriteString("type", "response.created");
            WriteResponse(w, response, "in_progress", []);
        });
        if (reply.Failure == FakeFailure.FailedResponse)
        {
            response.Status = "failed";
            await SendAsync(w =>
            {
                w.WriteString("type", "response.done");
                WriteResponse(w, response, "failed", []);
            });
            return;
        }

        var output = new List<Action<Utf8JsonWriter>>();
        var cancelled = false;
        if (reply.Audio.Length > 0)
        {
            cancelled = await StreamAudioAsync(reply, response, cancel);
            var transcript = reply.Transcript;
            output.Add(w => WriteMessageItem(w, response.ItemId, cancelled ? "incomplete" : "completed", transcript));
        }

        if (!cancelled)
        {
            foreach (var call in reply.ToolCalls)
            {
                var itemId = NewId("item");
                var callId = NewId("call");
                var index = output.Count;
                await SendAsync(w =>
                {
                    w.WriteString("type", "response.function_call_arguments.done");
                    w.WriteString("response_id", response.Id);
                    w.WriteString("item_id", itemId);
                    w.WriteNumber("output_index", index);
                    w.WriteString("call_id", callId);
                    w.WriteString("name", call.Name);
                    w.WriteString("arguments", call.Arguments);
                });
                output.Add(w => WriteFunctionCallItem(w, itemId, callId, call));
                response.ToolCalls.Add((callId, call.Name));
            }
        }

        response.Status = cancelled ? "cancelled" : "completed";
        await SendAsync(w =>
        {
            w.WriteString("type", "response.done");
            WriteResponse(w, response, response.Status, output);
        });
        if (!cancelled && reply.ToolCalls.Count > 0)
        {
            lock (_gate)
            {
                _followUp = reply.Then;
            }
        }
    }

    /// <summary>The reply's audio in 100 ms deltas with its transcript spread over them; true when it was cancelled.</summary>
    private async Task<bool> StreamAudioAsync(FakeReply reply, FakeResponse response, CancellationToken cancel)
    {
        await SendAsync(w =>
        {
            w.WriteString("type", "response.output_item.added");
            w.WriteString("response_id", response.Id);
            w.WriteNumber("output_index", 0);
            w.WritePropertyName("item");
            WriteMessageItem(w, response.ItemId, "in_progress", null);
        });
        var words = reply.Transcript.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var chunks = (reply.Audio.Length + DeltaBytes - 1) / DeltaBytes;
        var wordsSent = 0;
        for (var chunk = 0; chunk < chunks; chunk++)
        {
            if (cancel.IsCancellationRequested)
            {
                return true;
            }

            if (reply.Failure == FakeFailure.DropMidReply && chunk == reply.DeltasBeforeDrop)
            {
                _socket.Abort();
                throw new OperationCanceledException("dropped on purpose");
            }

            var audio = reply.Audio.AsMemory(chunk * DeltaBytes, Math.Min(DeltaBytes, reply.Audio.Length - chunk * DeltaBytes));
            lock (_gate)
            {
                _assistantAudio[response.ItemId] = _assistantAudio.GetValueOrDefault(response.ItemId) + audio.Length;
            }

            response.AudioBytesSent += audio.Length;
            await SendAsync(w =>
            {
                w.WriteString("type", "response.output_audio.delta");
                w.WriteString("response_id", response.Id);
                w.WriteString("item_id", response.ItemId);
                w.WriteNumber("output_index", 0);
                w.WriteNumber("content_index", 0);
                w.WriteString("delta", Convert.ToBase64String(audio.Span));
            }, sending: () =>
            {
                if (response.FirstDeltaSentAt == 0)
                {
                    response.FirstDeltaSentAt = Stopwatch.GetTimestamp();
                }
            });
            var wordsDue = words.Length * (chunk + 1) / chunks;
            if (wordsDue > wordsSent)
            {
                var delta = (wordsSent == 0 ? "" : " ") + string.Join(' ', words[wordsSent..wordsDue]);
                wordsSent = wordsDue;
                await SendAsync(w =>
                {
                    w.WriteString("type", "response.output_audio_transcript.delta");
                    w.WriteString("response_id", response.Id);
                    w.WriteString("item_id", response.ItemId);
                    w.WriteNumber("output_index", 0);
                    w.WriteNumber("content_index", 0);
                    w.WriteString("delta", delta);
                });
            }

            try
            {
                await Task.Delay(_deltaInterval, cancel);
            }
            catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
            {
                return true;
            }
        }

        await SendAsync(w =>
        {
            w.WriteString("type", "response.output_audio.done");
            w.WriteString("response_id", response.Id);
            w.WriteString("item_id", response.ItemId);
            w.WriteNumber("output_index", 0);
            w.WriteNumber("content_index", 0);
        });
        await SendAsync(w =>
        {
            w.WriteString("type", "response.output_audio_transcript.done");
            w.WriteString("response_id", response.Id);
            w.WriteString("item_id", response.ItemId);
            w.WriteNumber("output_index", 0);
            w.WriteNumber("content_index", 0);
            w.WriteString("transcript", reply.Transcript);
        });
        return false;
    }

    private void WriteSession(Utf8JsonWriter w)
    {
        w.WriteStartObject("session");
        w.WriteString("type", "realtime");
        w.WriteString("object", "realtime.session");
        w.WriteString("id", "sess_fake");
        w.WriteString("model", Model);
        w.WriteStartArray("output_modalities");
        w.WriteStringValue("audio");
        w.WriteEndArray();
        w.WriteString("instructions", Instructions ?? "");
        w.WriteStartObject("audio");
        w.WriteStartObject("input");
        WriteFormat(w, InputFormat);
        w.WriteStartObject("turn_detection");
        w.WriteString("type", TurnDetection);
        w.WriteBoolean("create_response", CreateResponse);
        w.WriteBoolean("interrupt_response", InterruptResponse);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteStartObject("output");
        WriteFormat(w, OutputFormat);
        w.WriteString("voice", Voice ?? "alloy");
        w.WriteNumber("speed", 1);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteStartArray("tools");
        w.WriteEndArray();
        w.WriteString("tool_choice", "auto");
        w.WriteString("max_output_tokens", "inf");
        w.WriteEndObject();
    }

    private static void WriteFormat(Utf8JsonWriter w, string format)
    {
        w.WriteStartObject("format");
        w.WriteString("type", format);
        if (format == "audio/pcm")
        {
            w.WriteNumber("rate", 24000);
        }

        w.WriteEndObject();
    }

    private void WriteResponse(Utf8JsonWriter w, FakeResponse response, string status, IReadOnlyList<Action<Utf8JsonWriter>> output)
    {
        w.WriteStartObject("response");
        w.WriteString("object", "realtime.response");
        w.WriteString("id", response.Id);
        w.WriteString("status", status);
        if (status == "cancelled")
        {
            w.WriteStartObject("status_details");
            w.WriteString("type", "cancelled");
            w.WriteString("reason", "client_cancelled");
            w.WriteEndObject();
        }
        else if (status == "failed")
        {
            w.WriteStartObject("status_details");
            w.WriteString("type", "failed");
            w.WriteStartObject("error");
            w.WriteString("type", "server_error");
            w.WriteString("code", "server_error");
            w.WriteString("message", "The model failed to respond.");
            w.WriteEndObject();
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("status_details");
        }

        w.WriteStartArray("output");
        foreach (var item in output)
        {
            item(w);
        }

        w.WriteEndArray();
        w.WriteString("conversation_id", "conv_fake");
        w.WriteStartArray("output_modalities");
        w.WriteStringValue("audio");
        w.WriteEndArray();
        w.WriteString("max_output_tokens", "inf");
        w.WriteStartObject("audio");
        w.WriteStartObject("output");
        WriteFormat(w, OutputFormat);
        w.WriteString("voice", Voice ?? "alloy");
        w.WriteEndObject();
        w.WriteEndObject();
        if (status is "in_progress")
        {
            w.WriteNull("usage");
        }
        else
        {
            w.WriteStartObject("usage");
            w.WriteNumber("total_tokens", 30 + response.AudioBytesSent / 400);
            w.WriteNumber("input_tokens", 30);
            w.WriteNumber("output_tokens", response.AudioBytesSent / 400);
            w.WriteEndObject();
        }

        w.WriteNull("metadata");
        w.WriteEndObject();
    }

    private static void WriteMessageItem(Utf8JsonWriter w, string itemId, string status, string? transcript)
    {
        w.WriteStartObject();
        w.WriteString("id", itemId);
        w.WriteString("object", "realtime.item");
        w.WriteString("type", "message");
        w.WriteString("status", status);
        w.WriteString("role", "assistant");
        w.WriteStartArray("content");
        if (transcript is not null)
        {
            w.WriteStartObject();
            w.WriteString("type", "output_audio");
            w.WriteString("transcript", transcript);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteFunctionCallItem(Utf8JsonWriter w, string itemId, string callId, FakeToolCall call)
    {
        w.WriteStartObject();
        w.WriteString("id", itemId);
        w.WriteString("object", "realtime.item");
        w.WriteString("type", "function_call");
        w.WriteString("status", "completed");
        w.WriteString("name", call.Name);
        w.WriteString("call_id", callId);
        w.WriteString("arguments", call.Arguments);
        w.WriteEndObject();
    }

    private async Task ErrorAsync(string type, string code, string message, string? clientEventId)
    {
        _errorsSent.Enqueue(code);
        await SendAsync(w =>
        {
            w.WriteString("type", "error");
            w.WriteStartObject("error");
            w.WriteString("type", type);
            w.WriteString("code", code);
            w.WriteString("message", message);
            w.WriteNull("param");
            WriteNullableString(w, "event_id", clientEventId);
            w.WriteEndObject();
        });
    }

    /// <summary>
    /// Sends one server event (with its own <c>event_id</c>), one at a time as a WebSocket requires; <paramref name="sending"/> runs as it is handed to the socket (after the session's other sends:
    /// when the provider's message leaves, not when this fake began writing it).
    /// </summary>
    private async Task SendAsync(Action<Utf8JsonWriter> body, Action? sending = null)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("event_id", NewId("event"));
            body(writer);
            writer.WriteEndObject();
        }

        await _send.WaitAsync(_stopping);
        try
        {
            sending?.Invoke();
            await _socket.SendAsync(buffer.WrittenMemory, WebSocketMessageType.Text, endOfMessage: true, _stopping);
        }
        finally
        {
            _send.Release();
        }
    }

    private static void WriteNullableString(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private string NewId(string prefix) => $"{prefix}_{Interlocked.Increment(ref _nextId):D4}";

    /// <summary>G.711 mu-law to 16-bit linear (ITU-T G.711), independent of the product's codec.</summary>
    private static int MuLawToLinear(byte value)
    {
        var u = ~value & 0xFF;
        var t = ((u & 0x0F) << 3) + 0x84;
        t <<= (u & 0x70) >> 4;
        return (u & 0x80) != 0 ? 0x84 - t : t - 0x84;
    }

    /// <summary>A 440 Hz tone in mu-law: audible reply audio when a script gives none.</summary>
    public static byte[] Tone(int milliseconds)
    {
        var audio = new byte[milliseconds * 8];
        for (var i = 0; i < audio.Length; i++)
        {
            audio[i] = LinearToMuLaw((short)(8000 * Math.Sin(2 * Math.PI * 440 * i / 8000)));
        }

        return audio;
    }

    private static byte LinearToMuLaw(short sample)
    {
        const int bias = 0x84;
        var sign = (sample >> 8) & 0x80;
        var magnitude = sign != 0 ? -sample : sample;
        magnitude = Math.Min(magnitude, 32635) + bias;
        var exponent = 7;
        for (var mask = 0x4000; (magnitude & mask) == 0 && exponent > 0; mask >>= 1)
        {
            exponent--;
        }

        var mantissa = (magnitude >> (exponent + 3)) & 0x0F;
        return (byte)~(sign | (exponent << 4) | mantissa);
    }
}

/// <summary>A <c>conversation.item.truncate</c> as received, with the audio the fake had sent for the item by then.</summary>
public sealed record FakeTruncate(string ItemId, int ContentIndex, int AudioEndMs, int SentMs, long ReceivedAt);

/// <summary>A tool result the client sent (<c>function_call_output</c>).</summary>
public sealed record FakeFunctionOutput(string CallId, string Output)
{
    public JsonElement Json => JsonDocument.Parse(Output).RootElement;
}

/// <summary>One response the fake generated.</summary>
public sealed class FakeResponse(string id, string itemId)
{
    public string Id { get; } = id;

    public string ItemId { get; } = itemId;

    public int AudioBytesSent { get; set; }

    /// <summary><see cref="Stopwatch"/> timestamp of the first audio delta's send (0 when none).</summary>
    public long FirstDeltaSentAt { get; set; }

    public string Status { get; set; } = "in_progress";

    public List<(string CallId, string Name)> ToolCalls { get; } = [];
}
