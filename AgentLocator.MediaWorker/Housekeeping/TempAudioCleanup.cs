using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Model;
using AgentLocator.Data.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentLocator.MediaWorker.Housekeeping;

/// <summary>
/// Deletes temporary audio older than <c>Storage:TempRetention</c>, on a schedule. A file that is
/// the only copy of a recording not yet stored durably is kept, however old, and logged.
/// </summary>
public sealed partial class TempAudioCleanup(
    IOptions<StorageOptions> storage,
    IServiceScopeFactory scopes,
    TimeProvider clock,
    ILogger<TempAudioCleanup> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(storage.Value.CleanupInterval, clock);
        do
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>One sweep; returns the files it deleted.</summary>
    public async Task<IReadOnlyList<string>> RunOnceAsync(CancellationToken cancellationToken)
    {
        var options = storage.Value;
        if (!Directory.Exists(options.TempDirectory))
        {
            return [];
        }
        var cutoff = clock.GetUtcNow().UtcDateTime - options.TempRetention;
        var old = new DirectoryInfo(options.TempDirectory).EnumerateFiles("*", SearchOption.AllDirectories)
            .Where(f => f.LastWriteTimeUtc < cutoff)
            .ToList();
        if (old.Count == 0)
        {
            return [];
        }

        // Recording downloads are named after their SID; keep those whose recording is not stored yet.
        var sids = old.Select(f => RecordingSid(f.Name)).OfType<string>().Distinct().ToList();
        var unsafeToDelete = new HashSet<string>(StringComparer.Ordinal);
        if (sids.Count > 0)
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<AgentLocatorDbContext>();
            var stored = await db.Recordings.AsNoTracking()
                .Where(r => sids.Contains(r.RecordingSid!) && r.Status == RecordingStatuses.Stored)
                .Select(r => r.RecordingSid!)
                .ToListAsync(cancellationToken);
            unsafeToDelete.UnionWith(sids.Except(stored));
        }

        var deleted = new List<string>();
        foreach (var file in old)
        {
            if (RecordingSid(file.Name) is { } sid && unsafeToDelete.Contains(sid))
            {
                LogKept(logger, file.Name);
                continue;
            }
            try
            {
                file.Delete();
                deleted.Add(file.FullName);
            }
            catch (IOException ex)
            {
                LogDeleteFailed(logger, file.Name, ex.Message);
            }
        }
        LogSwept(logger, deleted.Count);
        return deleted;
    }

    internal static string? RecordingSid(string fileName)
    {
        var sid = fileName.Split('.')[0];
        return sid.StartsWith("RE", StringComparison.Ordinal) && sid.Length > 2 ? sid : null;
    }

    [LoggerMessage(EventId = 4401, EventName = "TEMP_AUDIO_SWEPT", Level = LogLevel.Information, Message = "TEMP_AUDIO_SWEPT deleted {Count} old temporary files")]
    private static partial void LogSwept(ILogger logger, int count);

    [LoggerMessage(EventId = 4402, EventName = "TEMP_AUDIO_KEPT", Level = LogLevel.Warning,
        Message = "TEMP_AUDIO_KEPT {File}: its recording is not stored durably yet")]
    private static partial void LogKept(ILogger logger, string file);

    [LoggerMessage(EventId = 4403, EventName = "TEMP_AUDIO_DELETE_FAILED", Level = LogLevel.Warning, Message = "TEMP_AUDIO_DELETE_FAILED {File}: {Error}")]
    private static partial void LogDeleteFailed(ILogger logger, string file, string error);

    [LoggerMessage(EventId = 4404, EventName = "TEMP_AUDIO_SWEEP_FAILED", Level = LogLevel.Error, Message = "TEMP_AUDIO_SWEEP_FAILED")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
