var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddAgentLocatorData();

var app = builder.Build();

app.MapDefaultEndpoints();

app.Run();
