using System.ClientModel;
using System.ClientModel.Primitives;
using AgentLocator.MediaWorker.Conversation.Realtime;
using Microsoft.Extensions.Options;
using OpenAI;
using OpenAI.Audio;

namespace AgentLocator.MediaWorker.Jobs;

/// <summary>
/// Turns a stored voicemail into Hebrew text with OpenAI's audio transcription endpoint (the model is
/// <c>Realtime:VoicemailTranscriptionModel</c>), on the <c>ConnectionStrings:openai</c> endpoint and key. Registered
/// only when a provider is configured. The SDK does not retry: the job queue does, with its own backoff.
/// </summary>
public sealed class VoicemailTranscriber(OpenAIConnection connection, IOptions<RealtimeOptions> options)
{
    private readonly AudioClient _client = new(options.Value.VoicemailTranscriptionModel, new ApiKeyCredential(connection.Key),
        new OpenAIClientOptions { Endpoint = connection.Endpoint, NetworkTimeout = TimeSpan.FromSeconds(60), RetryPolicy = new ClientRetryPolicy(maxRetries: 0) });

    public bool Enabled => options.Value.TranscribeVoicemail;

    public async Task<string> TranscribeAsync(string path, CancellationToken cancellationToken)
    {
        await using var audio = File.OpenRead(path);
        var result = await _client.TranscribeAudioAsync(audio, Path.GetFileName(path), new AudioTranscriptionOptions { Language = options.Value.Language },
            cancellationToken);
        return result.Value.Text?.Trim() ?? "";
    }
}
