namespace AgentLocator.Media;

/// <summary>One prompt, held in memory as 8 kHz mono mu-law, ready for Media Streams <c>media</c> frames.</summary>
public sealed record Prompt(string Key, ReadOnlyMemory<byte> MuLaw)
{
    public TimeSpan Duration => TimeSpan.FromTicks(MuLaw.Length * TimeSpan.TicksPerSecond / 8000);
}
