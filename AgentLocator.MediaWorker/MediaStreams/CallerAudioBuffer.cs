using System.Buffers;

namespace AgentLocator.MediaWorker.MediaStreams;

/// <summary>
/// The caller's recent audio (8 kHz mu-law) on the stream clock, from which each turn's utterance is
/// cut with a little pre- and post-roll. Keeps about a second while nobody speaks and up to a minute
/// of one utterance. Pooled; not thread-safe (the receive loop's own).
/// </summary>
internal sealed class CallerAudioBuffer : IDisposable
{
    private const int BytesPerSecond = 8000;
    private static readonly TimeSpan PreRoll = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan PostRoll = TimeSpan.FromMilliseconds(150);
    private const int MaxUtteranceBytes = 60 * BytesPerSecond;

    private byte[] _audio = ArrayPool<byte>.Shared.Rent(4 * BytesPerSecond);
    private int _length;
    private TimeSpan _start;

    /// <summary>Appends a frame that starts at <paramref name="timestamp"/>; while nobody speaks, older audio is let go.</summary>
    public void Append(ReadOnlySpan<byte> frame, TimeSpan timestamp, bool speaking)
    {
        if (_length == 0)
        {
            _start = timestamp;
        }

        if (!speaking && _length > 2 * BytesPerSecond)
        {
            Drop(_length - BytesPerSecond);
        }

        if (_length + frame.Length > _audio.Length)
        {
            if (_audio.Length >= MaxUtteranceBytes)
            {
                Drop(_audio.Length / 2);
            }
            else
            {
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(_audio.Length * 2, MaxUtteranceBytes));
                _audio.AsSpan(0, _length).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(_audio);
                _audio = bigger;
            }
        }

        frame.CopyTo(_audio.AsSpan(_length));
        _length += frame.Length;
    }

    /// <summary>A copy of the audio from <paramref name="onset"/> to <paramref name="end"/> (stream time), with pre- and post-roll.</summary>
    public byte[] Cut(TimeSpan onset, TimeSpan end)
    {
        var from = Math.Clamp(Offset(onset - PreRoll), 0, _length);
        var to = Math.Clamp(Offset(end + PostRoll), from, _length);
        return _audio.AsSpan(from, to - from).ToArray();
    }

    public void Dispose() => ArrayPool<byte>.Shared.Return(_audio);

    private int Offset(TimeSpan at) => (int)((at - _start).Ticks * BytesPerSecond / TimeSpan.TicksPerSecond);

    private void Drop(int bytes)
    {
        _audio.AsSpan(bytes, _length - bytes).CopyTo(_audio);
        _length -= bytes;
        _start += TimeSpan.FromTicks(bytes * TimeSpan.TicksPerSecond / BytesPerSecond);
    }
}
