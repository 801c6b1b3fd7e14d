using System.ComponentModel.DataAnnotations;

namespace AgentLocator.Data.Jobs;

public sealed class JobOptions
{
    public const string Section = "Jobs";

    /// <summary>Whether this process runs the job loop (the MediaWorker does by default).</summary>
    public bool Enabled { get; set; }

    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    [Range(1, 64)]
    public int Concurrency { get; set; } = 4;

    /// <summary>How long a claimed job stays locked before another worker may take it over.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(2);

    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan BaseBackoff { get; set; } = TimeSpan.FromSeconds(2);

    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(10);
}
