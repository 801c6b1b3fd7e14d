using System.Data.Common;

namespace AgentLocator.AppHost.Postgres;

/// <summary>A database on a <see cref="PostgresExecutableResource"/>, as Aspire's <c>PostgresDatabaseResource</c> is on its container.</summary>
public sealed class PostgresExecutableDatabaseResource(string name, string databaseName, PostgresExecutableResource parent)
    : Resource(name), IResourceWithParent<PostgresExecutableResource>, IResourceWithConnectionString
{
    public PostgresExecutableResource Parent { get; } = parent;

    public string DatabaseName { get; } = databaseName;

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"{Parent};{new DbConnectionStringBuilder { ["Database"] = DatabaseName }.ConnectionString}");
}
