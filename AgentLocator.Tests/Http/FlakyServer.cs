using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentLocator.Tests.Http;

/// <summary>
/// A Kestrel server on 127.0.0.1 whose endpoints fail on purpose, counting attempts per key:
/// <c>/status/{key}?code=503&amp;times=2&amp;retryAfter=1</c> answers <c>code</c> for the first <c>times</c>
/// attempts then 200; <c>retryAfterDate=N</c> sends <c>Retry-After</c> as an HTTP date N seconds ahead;
/// <c>/slow/{key}?delayMs=..&amp;times=1</c> stalls the first attempts; <c>/echo</c> returns the path it got.
/// </summary>
internal sealed class FlakyServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Attempt>> _attempts = new();

    private FlakyServer(WebApplication app) => _app = app;

    public Uri BaseUrl { get; private set; } = null!;

    public static async Task<FlakyServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FlakyServer(app);

        app.Map("/status/{key}", async (HttpContext context, string key, int code, int times, int? retryAfter, int? retryAfterDate) =>
        {
            var attempt = await server.RecordAsync(key, context);
            if (attempt > times)
            {
                return Results.Text($"ok after {attempt}");
            }

            if (retryAfter is not null)
            {
                context.Response.Headers.RetryAfter = retryAfter.Value.ToString(CultureInfo.InvariantCulture);
            }

            if (retryAfterDate is not null)
            {
                context.Response.Headers.RetryAfter = DateTimeOffset.UtcNow.AddSeconds(retryAfterDate.Value).ToString("r", CultureInfo.InvariantCulture);
            }

            return Results.Text($"failure {attempt}", statusCode: code);
        });

        app.Map("/slow/{key}", async (HttpContext context, string key, int delayMs, int times) =>
        {
            var attempt = await server.RecordAsync(key, context);
            if (attempt <= times)
            {
                await Task.Delay(delayMs, context.RequestAborted);
            }

            return Results.Text($"answered attempt {attempt}");
        });

        app.Map("/echo/{**rest}", (HttpContext context) =>
            Results.Text($"{context.Request.Method} {context.Request.Path}{context.Request.QueryString}"));

        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUrl = new Uri(address + "/");
        return server;
    }

    public IReadOnlyList<Attempt> Attempts(string key) =>
        _attempts.TryGetValue(key, out var attempts) ? attempts.ToList() : [];

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private async Task<int> RecordAsync(string key, HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync();
        var attempts = _attempts.GetOrAdd(key, _ => new ConcurrentQueue<Attempt>());
        lock (attempts)
        {
            attempts.Enqueue(new Attempt(DateTimeOffset.UtcNow, context.Request.Method, body));
            return attempts.Count;
        }
    }

    internal sealed record Attempt(DateTimeOffset At, string Method, string Body);
}
