using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Model;
using AgentLocator.Data.Storage;
using AgentLocator.Media;
using Microsoft.Extensions.Options;

namespace AgentLocator.MediaWorker.Conversation;

/// <summary>
/// Keeps a caller's answer: a WAV file (8 kHz PCM16, what STT providers and browsers take) under
/// <c>Storage:Directory/utterances/yyyy/MM/</c> and an <see cref="Utterance"/> row linked to the call
/// and the customer (the lead), so the business can listen and a transcriber can fill the text later.
/// </summary>
public sealed class UtteranceStore(IServiceScopeFactory scopes, IOptions<StorageOptions> storage, TimeProvider clock)
{
    public async Task<Utterance> SaveAsync(ConversationContext call, int sequence, string slot, ReadOnlyMemory<byte> muLaw, TimeSpan speech,
        CancellationToken cancellationToken)
    {
        var options = storage.Value;
        var now = clock.GetUtcNow();
        var folder = Path.Combine(options.UtterancesDirectory, now.ToString("yyyy"), now.ToString("MM"));
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, $"{call.CallSid}_{sequence:00}_{slot}.wav");
        var partial = path + ".partial";
        await using (var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 16 * 1024, useAsync: true))
        {
            using var wav = new MemoryStream(44 + muLaw.Length * 2);
            WavFile.WritePcm16(wav, MuLaw.Decode(muLaw.Span));
            await file.WriteAsync(wav.GetBuffer().AsMemory(0, (int)wav.Length), cancellationToken);
        }
        File.Move(partial, path, overwrite: true);

        var utterance = new Utterance
        {
            CallId = call.CallId,
            CustomerId = call.CustomerId,
            Sequence = sequence,
            Slot = slot,
            AudioPath = options.Relative(path),
            DurationMs = (int)speech.TotalMilliseconds,
            CreatedAt = now,
        };
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentLocatorDbContext>();
        db.Utterances.Add(utterance);
        await db.SaveChangesAsync(cancellationToken);
        return utterance;
    }
}
