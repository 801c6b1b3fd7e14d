using System.ComponentModel.DataAnnotations;

namespace AgentLocator.Api.Voice;

public sealed class VoiceOptions
{
    public const string Section = "Voice";

    /// <summary>How long a webhook may wait for Postgres before it answers from what it knows (Twilio allows 15 s; we aim for 50 ms).</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:00:10")]
    public TimeSpan DatabaseBudget { get; set; } = TimeSpan.FromMilliseconds(1500);

    /// <summary>How long a number's business stays cached, so calls keep flowing when Postgres blips.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan DirectoryCacheTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Stream-start watchdog: how long after the greeting has played the stream must have started.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan StreamStartGrace { get; set; } = TimeSpan.FromSeconds(6);

    /// <summary>
    /// Length of the greeting played before the stream connects (the watchdog's deadline starts
    /// after it); by default measured from the greeting prompt's 8 kHz mu-law file.
    /// </summary>
    public TimeSpan? GreetingDuration { get; set; }

    /// <summary>How long a call's session stays in Redis.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan SessionTtl { get; set; } = TimeSpan.FromHours(2);

    /// <summary>
    /// Writes held for Postgres at most; past it the oldest is dropped (logged with everything to rebuild it, counted, alerted).
    /// Under 1 KB each (a shed call's fields and its write), so 50,000 stay under 50 MB: a minute of calls shed at 800/s,
    /// where 10,000 overflowed after ~10 s of 1,000/s offered on two cores.
    /// </summary>
    [Range(1, 1_000_000)]
    public int DeferredWriteCapacity { get; set; } = 50_000;

    /// <summary>
    /// Deferred writes made at once, each call's in order. Several, because one write at a time waits on a commit each:
    /// after a burst of shed calls a single loop drained ~100 writes/s and the queue overflowed.
    /// </summary>
    [Range(1, 64)]
    public int DeferredWriteConcurrency { get; set; } = 4;

    /// <summary>
    /// Tries of a deferred write that fails for a reason other than Postgres being unreachable (a bug, a constraint): it is
    /// then dropped (logged, counted, alerted) so the writes behind it go on. Postgres being down is retried for as long as it lasts.
    /// </summary>
    [Range(1, 1000)]
    public int DeferredWriteMaxAttempts { get; set; } = 5;

    /// <summary>
    /// How long a voice webhook may wait for one of the <see cref="MaxConcurrentWebhooks"/> slots before it is shed: answered at
    /// once with the answer it gives when Postgres is down (TwiML, or 204), its writes deferred. A few hundred ms: far inside
    /// Twilio's 15 s, and long enough that a short burst is served in full rather than shed.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan MaxWebhookWait { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Voice webhooks doing their database work at once. Above the machine's ceiling more in flight only lengthens every
    /// request; below it, the calls in flight together are what the group commit (<c>IncomingCallWriter</c>) batches, so
    /// too few caps the ceiling. On two cores, closed loop (wrk, 64 connections, load ~11): 8 slots and a queue of 32 served
    /// ~1,100 calls/s in full and shed 60% of the rest; 64 and 256 served 2,400-2,900/s with none shed, and at 512
    /// connections still answered every request (p99 0.5 s, half shed).
    /// </summary>
    [Range(1, 10_000)]
    public int MaxConcurrentWebhooks { get; set; } = 64;

    /// <summary>Voice webhooks waiting for a slot (each at most <see cref="MaxWebhookWait"/>); one more is shed at once.</summary>
    [Range(0, 100_000)]
    public int MaxQueuedWebhooks { get; set; } = 256;
}
