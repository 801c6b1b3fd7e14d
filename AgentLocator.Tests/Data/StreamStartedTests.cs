using AgentLocator.Data.Calls;
using AgentLocator.Data.Model;
using AgentLocator.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace AgentLocator.Tests.Data;

/// <summary>
/// <see cref="CallStore.StreamStartedAsync"/>, on a real Postgres: the media stream's start is recorded on the call's row and what
/// the stream needs of the row comes back from the same statement.
/// </summary>
public sealed class StreamStartedTests : IAsyncLifetime
{
    private string _connectionString = "";
    private Guid _businessId;

    public async Task InitializeAsync()
    {
        _connectionString = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("streamstarted");
        await TestDbContexts.MigrateAsync(_connectionString);
        await using var db = TestDbContexts.Create(_connectionString);
        var business = new Business { Name = "stream started" };
        db.Businesses.Add(business);
        await db.SaveChangesAsync();
        _businessId = business.Id;
    }

    public Task DisposeAsync() => Task.CompletedTask;

    private async Task<(string CallSid, RecordedCall Recorded)> RecordCallAsync(bool isTest)
    {
        var callSid = "CAstarted" + Guid.NewGuid().ToString("N");
        await using var db = TestDbContexts.Create(_connectionString);
        var recorded = await new CallStore(db).RecordIncomingAsync(new IncomingCall(callSid, _businessId, Guid.CreateVersion7(),
            "+97254" + Random.Shared.Next(1_000_000, 9_999_999), "+97230000001", "inbound", CallStatuses.InProgress, DateTimeOffset.UtcNow, isTest),
            CancellationToken.None);
        return (callSid, recorded);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AStartedStreamIsRecordedAndReturnsItsCallsIdCustomerAndTestFlag(bool isTest)
    {
        var (callSid, recorded) = await RecordCallAsync(isTest);
        var at = DateTimeOffset.UtcNow;
        await using var db = TestDbContexts.Create(_connectionString);

        var started = await new CallStore(db).StreamStartedAsync(callSid, "MZfirst", at, CancellationToken.None);

        Assert.Equal(new StartedStream(recorded.CallId, recorded.CustomerId, isTest), started);
        var row = await db.Calls.AsNoTracking().SingleAsync(c => c.CallSid == callSid);
        Assert.True(row.StreamStarted);
        Assert.Equal("MZfirst", row.StreamSid);
        Assert.NotNull(row.StreamStartedAt);
    }

    [Fact]
    public async Task ASecondStartKeepsTheFirstStreamAndStillReturnsTheCall()
    {
        var (callSid, recorded) = await RecordCallAsync(isTest: false);
        await using var db = TestDbContexts.Create(_connectionString);
        var store = new CallStore(db);
        await store.StreamStartedAsync(callSid, "MZfirst", DateTimeOffset.UtcNow, CancellationToken.None);
        var firstAt = (await db.Calls.AsNoTracking().SingleAsync(c => c.CallSid == callSid)).StreamStartedAt;

        var again = await store.StreamStartedAsync(callSid, "MZsecond", DateTimeOffset.UtcNow.AddSeconds(5), CancellationToken.None);

        Assert.Equal(recorded.CallId, again?.CallId);
        var row = await db.Calls.AsNoTracking().SingleAsync(c => c.CallSid == callSid);
        Assert.Equal("MZfirst", row.StreamSid);
        Assert.Equal(firstAt, row.StreamStartedAt);
    }

    [Fact]
    public async Task AStreamOfAnUnknownCallRecordsNothingAndReturnsNull()
    {
        await using var db = TestDbContexts.Create(_connectionString);

        var started = await new CallStore(db).StreamStartedAsync("CAunknown" + Guid.NewGuid().ToString("N"), "MZnone", DateTimeOffset.UtcNow, CancellationToken.None);

        Assert.Null(started);
        Assert.False(await new CallStore(db).RecordStreamStartedAsync("CAunknown2", "MZnone", DateTimeOffset.UtcNow, CancellationToken.None));
    }
}
