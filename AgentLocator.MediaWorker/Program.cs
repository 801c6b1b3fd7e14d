using AgentLocator.MediaWorker;
using AgentLocator.MediaWorker.MediaStreams;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapMediaStreams();

app.Run();
