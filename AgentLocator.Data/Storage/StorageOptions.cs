using System.ComponentModel.DataAnnotations;

namespace AgentLocator.Data.Storage;

/// <summary>
/// Where audio lives on disk: <c>recordings/</c> (voicemails), <c>utterances/</c> (callers' answers)
/// and <c>tmp/</c> (downloads in progress, scratch audio). Api and MediaWorker share the directory.
/// </summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    public string Directory { get; set; } = Path.Combine(Path.GetTempPath(), "agentlocator-storage");

    /// <summary>Temporary audio older than this is deleted, unless it is a recording not yet stored durably.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan TempRetention { get; set; } = TimeSpan.FromHours(24);

    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan CleanupInterval { get; set; } = TimeSpan.FromHours(1);

    public string RecordingsDirectory => Path.Combine(Directory, "recordings");

    public string UtterancesDirectory => Path.Combine(Directory, "utterances");

    public string TempDirectory => Path.Combine(Directory, "tmp");

    /// <summary>Resolves a stored relative path, refusing anything that escapes the storage directory.</summary>
    public string Resolve(string relativePath)
    {
        var root = Path.GetFullPath(Directory);
        var full = Path.GetFullPath(Path.Combine(root, relativePath));
        if (!full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{relativePath}' is outside the storage directory.", nameof(relativePath));
        }
        return full;
    }

    public string Relative(string fullPath) => Path.GetRelativePath(Path.GetFullPath(Directory), fullPath);
}
