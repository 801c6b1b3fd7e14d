using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AgentLocator.Tests.Infrastructure;
using AgentLocator.Twilio.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentLocator.Tests.Twilio;

public sealed class FakeTwilioServerTests
{
    [Fact]
    public async Task RequestWithoutBasicAuthIsAnswered401WithTwilioError20003()
    {
        await using var twilio = await FakeTwilioServer.StartAsync();
        using var http = new HttpClient { BaseAddress = twilio.BaseUrl };

        using var response = await http.PostAsync(
            $"2010-04-01/Accounts/{twilio.AccountSid}/Messages.json",
            new FormUrlEncodedContent([new("To", "+972501234567"), new("From", "+14155238886"), new("Body", "x")]));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(20003, error.RootElement.GetProperty("code").GetInt32());
        Assert.Equal(401, error.RootElement.GetProperty("status").GetInt32());
        Assert.Empty(twilio.Messages);
        Assert.False(Assert.Single(twilio.Requests).Authenticated);
    }

    [Theory]
    [InlineData(null, "+14155238886", "x", 21604)]
    [InlineData("+972501234567", null, "x", 21603)]
    [InlineData("+972501234567", "+14155238886", null, 21602)]
    public async Task MessageMissingARequiredFieldIsAnswered400WithTheMatchingCode(string? to, string? from, string? body, int expectedCode)
    {
        await using var twilio = await FakeTwilioServer.StartAsync();
        using var http = AuthenticatedClient(twilio);
        var form = new List<KeyValuePair<string, string>>();
        if (to is not null)
        {
            form.Add(new("To", to));
        }

        if (from is not null)
        {
            form.Add(new("From", from));
        }

        if (body is not null)
        {
            form.Add(new("Body", body));
        }

        using var response = await http.PostAsync($"2010-04-01/Accounts/{twilio.AccountSid}/Messages.json", new FormUrlEncodedContent(form));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(expectedCode, error.RootElement.GetProperty("code").GetInt32());
        Assert.Equal(expectedCode, Assert.Single(twilio.Requests).ResponseTwilioCode);
    }

    [Fact]
    public async Task ScriptedTooManyRequestsAnswersWithRetryAfterThenRecovers()
    {
        await using var twilio = await FakeTwilioServer.StartAsync();
        using var http = AuthenticatedClient(twilio);
        twilio.FailNext(2, FakeTwilioFailure.TooManyRequests(TimeSpan.FromSeconds(3)));
        var url = $"2010-04-01/Accounts/{twilio.AccountSid}/Calls/CA1.json";

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await http.PostAsync(url, new FormUrlEncodedContent([new("Status", "completed")]));
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.Equal(TimeSpan.FromSeconds(3), response.Headers.RetryAfter!.Delta);
            }
        }

        Assert.Equal([HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests, HttpStatusCode.OK], statuses);
    }

    [Fact]
    public async Task StatusCallbackIsPostedWithAValidTwilioSignature()
    {
        await using var twilio = await FakeTwilioServer.StartAsync();
        await using var receiver = await CallbackReceiver.StartAsync();
        using var http = AuthenticatedClient(twilio);
        var callbackUrl = receiver.BaseUrl + "webhook/message_status";
        using var created = await http.PostAsync(
            $"2010-04-01/Accounts/{twilio.AccountSid}/Messages.json",
            new FormUrlEncodedContent([new("To", "whatsapp:+972501234567"), new("From", "whatsapp:+14155238886"), new("Body", "שלום"), new("StatusCallback", callbackUrl)]));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var sid = Assert.Single(twilio.Messages).Sid;

        var status = await twilio.SendMessageStatusAsync(sid, "undelivered", errorCode: 63016);

        Assert.Equal(HttpStatusCode.NoContent, status);
        var callback = await receiver.Received.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(sid, callback.Form["MessageSid"]);
        Assert.Equal("undelivered", callback.Form["MessageStatus"]);
        Assert.Equal("63016", callback.Form["ErrorCode"]);
        Assert.True(new TwilioSignatureValidator(twilio.AuthToken).IsValid(callbackUrl, callback.Form.SelectMany(f => f.Value.Select(v => KeyValuePair.Create(f.Key, v ?? ""))), callback.Signature));
    }

    private static HttpClient AuthenticatedClient(FakeTwilioServer twilio)
    {
        var http = new HttpClient { BaseAddress = twilio.BaseUrl };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{twilio.AccountSid}:{twilio.AuthToken}")));
        return http;
    }

    private sealed record Callback(IFormCollection Form, string? Signature);

    private sealed class CallbackReceiver : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private CallbackReceiver(WebApplication app) => _app = app;

        public TaskCompletionSource<Callback> Received { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string BaseUrl { get; private set; } = string.Empty;

        public static async Task<CallbackReceiver> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var receiver = new CallbackReceiver(app);
            app.MapPost("/webhook/message_status", async (HttpRequest request) =>
            {
                var form = await request.ReadFormAsync();
                receiver.Received.TrySetResult(new Callback(form, request.Headers[TwilioSignatureValidator.SignatureHeader]));
                return Results.NoContent();
            });
            await app.StartAsync();
            receiver.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/";
            return receiver;
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
