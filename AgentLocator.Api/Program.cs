using AgentLocator.Api.Apis;
using AgentLocator.Api.Extensions;
using AgentLocator.Api.Voice;
using AgentLocator.Api.WhatsApp;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseRateLimiter();
app.MapOpenApi();
app.MapPrompts();
app.MapCrmApi();
app.MapVoiceWebhooks();
app.MapWhatsApp();

app.Run();
