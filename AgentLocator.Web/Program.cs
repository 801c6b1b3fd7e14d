using AgentLocator.Web.Api;
using AgentLocator.Web.Components;
using AgentLocator.Web.Extensions;
using AgentLocator.Web.Identity;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddWebApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
if (!app.Environment.IsDevelopment())
{
    app.UseExceptionHandler("/error", createScopeForErrors: true);
}
app.UseAntiforgery();
app.MapStaticAssets();
app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
app.MapAccountEndpoints();
app.MapMediaProxy();

app.Run();
