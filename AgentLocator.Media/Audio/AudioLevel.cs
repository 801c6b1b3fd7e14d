namespace AgentLocator.Media;

/// <summary>Frame loudness in dBFS (RMS relative to a full-scale 16-bit sample), allocation-free.</summary>
public static class AudioLevel
{
    /// <summary>The level reported for digital silence (an all-zero frame) or an empty frame.</summary>
    public const double SilenceDbfs = -96.0;

    private static readonly long[] MuLawSquares = BuildMuLawSquares();

    public static double Pcm16Dbfs(ReadOnlySpan<short> samples)
    {
        if (samples.IsEmpty)
        {
            return SilenceDbfs;
        }

        long sum = 0;
        foreach (var s in samples)
        {
            sum += s * s;
        }

        return ToDbfs(sum, samples.Length);
    }

    public static double MuLawDbfs(ReadOnlySpan<byte> muLaw)
    {
        if (muLaw.IsEmpty)
        {
            return SilenceDbfs;
        }

        var squares = MuLawSquares;
        long sum = 0;
        foreach (var b in muLaw)
        {
            sum += squares[b];
        }

        return ToDbfs(sum, muLaw.Length);
    }

    private static double ToDbfs(long sumOfSquares, int count)
    {
        if (sumOfSquares == 0)
        {
            return SilenceDbfs;
        }

        var meanSquare = (double)sumOfSquares / count;
        // 10·log10(ms / 32768²) = 20·log10(rms / 32768)
        var db = 10.0 * Math.Log10(meanSquare / (32768.0 * 32768.0));
        return Math.Max(db, SilenceDbfs);
    }

    private static long[] BuildMuLawSquares()
    {
        var table = new long[256];
        for (var i = 0; i < 256; i++)
        {
            long v = MuLaw.Decode((byte)i);
            table[i] = v * v;
        }

        return table;
    }
}
