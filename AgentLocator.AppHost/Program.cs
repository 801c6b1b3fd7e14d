using AgentLocator.AppHost.Hosting;

var builder = DistributedApplication.CreateBuilder(args);

// Postgres and Redis: the given connection string, else local server binaries, else embedded (npm Postgres, Garnet).
var postgres = builder.AddPostgres("postgres").WithDataVolume();
var db = postgres.AddDatabase("agentlocator");

var redis = builder.AddRedis("redis");

var mediaworker = builder.AddProject("mediaworker", "../AgentLocator.MediaWorker")
    .WithHttpEndpoint(port: builder.Configuration.GetValue("AppHost:MediaWorkerPort", 5081))
    .WithReference(db)
    .WithReference(redis)
    .WaitFor(db)
    .WaitFor(redis);

// The Api answers Twilio's webhooks and points the media stream at the MediaWorker, so it starts last.
var api = builder.AddProject("api", "../AgentLocator.Api")
    .WithHttpEndpoint(port: builder.Configuration.GetValue("AppHost:ApiPort", 5080))
    .WithReference(db)
    .WithReference(redis)
    .WithReference(mediaworker)
    .WaitFor(db)
    .WaitFor(redis)
    .WaitFor(mediaworker);

builder.Build().Run();
