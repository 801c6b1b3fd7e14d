namespace AgentLocator.Tests.Infrastructure;

/// <summary>A fresh, empty database per test class on the shared test server.</summary>
public sealed class PostgresDatabaseFixture : IAsyncLifetime
{
    public string ConnectionString { get; private set; } = "";

    public PostgresServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await PostgresServer.GetAsync();
        ConnectionString = await Server.CreateDatabaseAsync(GetType().Name);
    }

    public Task DisposeAsync() => Task.CompletedTask;
}
