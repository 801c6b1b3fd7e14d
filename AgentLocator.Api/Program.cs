using AgentLocator.Api.Apis;
using AgentLocator.Api.Extensions;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseRateLimiter();
app.MapOpenApi();
app.MapCrmApi();

app.Run();
