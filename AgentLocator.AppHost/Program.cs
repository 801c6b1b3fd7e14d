using AgentLocator.AppHost;
using AgentLocator.AppHost.Commands;
using AgentLocator.AppHost.Postgres;
using AgentLocator.AppHost.Processes;
using AgentLocator.AppHost.Redis;

var builder = DistributedApplication.CreateBuilder(args);
var settings = AppHostSettings.Read(builder);
var build = BuildMetadata.Create(settings.RepositoryRoot, DateTimeOffset.UtcNow);
builder.AddAppHostServices(settings, build).RefuseToStartOnHeldPorts();

// Postgres and Redis: a given connection string, else Aspire's containers when Docker or Podman answers,
// else private servers DCP runs from the installed binaries, else from embedded ones (npm Postgres, Garnet).
IResourceBuilder<IResourceWithConnectionString> db = settings.Postgres.Mode switch
{
    ServerMode.External => builder.AddConnectionString("agentlocator").WithNpgsqlHealthCheck(),
    ServerMode.Container => builder.AddPostgres("postgres").WithDataVolume().AddDatabase("agentlocator"),
    var mode => builder.AddPostgresExecutable("postgres", settings.PostgresBinaries(mode), settings.Postgres.Port)
        .WithDataDirectory(Path.Combine(settings.DataDirectory, "postgres"), durable: !settings.Ephemeral)
        .WithClusterTemplates(Path.Combine(settings.CacheDirectory, "postgres-templates"))
        .AddDatabase("agentlocator"),
};

IResourceBuilder<IResourceWithConnectionString> redis = settings.Redis.Mode switch
{
    ServerMode.External => builder.AddConnectionString("redis").WithRedisHealthCheck(),
    ServerMode.Container => builder.AddRedis("redis"),
    var mode => builder.AddRedisExecutable("redis", settings.RedisBinaries(mode), settings.Redis.Port),
};

// Ports are pinned and not proxied: Twilio's webhooks and media stream reach the services directly.
var mediaworker = builder.AddProject<Projects.AgentLocator_MediaWorker>("mediaworker")
    .WithBuiltOutput()
    .WithHttpEndpoint(port: settings.MediaWorkerPort, isProxied: false)
    .WithHttpHealthCheck("/health")
    .WithReference(db).WaitFor(db)
    .WithReference(redis).WaitFor(redis)
    .WithServiceEnvironment(settings, build);

// The AI receptionist (OpenAI Realtime) only when a key is given: Aspire refuses to start on a declared but
// missing connection string, and without one the MediaWorker runs the offline intake.
if (builder.Configuration.GetConnectionString("openai") is { Length: > 0 })
{
    mediaworker.WithReference(builder.AddConnectionString("openai"));
}

builder.AddWebAppKeyParameter();

// The Api answers Twilio's webhooks. It names the MediaWorker's address in its TwiML, but Twilio, not the Api,
// connects to it: both start as soon as Postgres and Redis are healthy.
var api = builder.AddProject<Projects.AgentLocator_Api>("api")
    .WithBuiltOutput()
    .WithHttpEndpoint(port: settings.ApiPort, isProxied: false)
    .WithHttpHealthCheck("/health")
    .WithReference(db).WaitFor(db)
    .WithReference(redis).WaitFor(redis)
    .WithReference(mediaworker)
    .WithWebAppKey(settings)
    .WithServiceEnvironment(settings, build);

// Dashboard commands: "Simulate a call" on the MediaWorker, "Run smoke suite" on the Api.
api.WithOperatorCommands(mediaworker, settings, build);

// The business owners' app: Identity's tables in the same database, the live call events from Redis, and the Api
// through service discovery with a key of its own. It calls the Api per page, not at start: both start together.
builder.AddProject<Projects.AgentLocator_Web>("web")
    .WithBuiltOutput()
    .WithHttpEndpoint(port: settings.WebPort, isProxied: false)
    .WithExternalHttpEndpoints()
    .WithHttpHealthCheck("/health")
    .WithReference(db).WaitFor(db)
    .WithReference(redis).WaitFor(redis)
    .WithReference(api)
    .WithApiKeyForWebApp(settings)
    .WithWebEnvironment(settings, build);

builder.Build().Run();
