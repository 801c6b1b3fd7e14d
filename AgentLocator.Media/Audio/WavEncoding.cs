namespace AgentLocator.Media;

public enum WavEncoding
{
    /// <summary>16-bit signed little-endian PCM (format tag 1).</summary>
    Pcm16,

    /// <summary>G.711 mu-law (format tag 7).</summary>
    MuLaw,
}
