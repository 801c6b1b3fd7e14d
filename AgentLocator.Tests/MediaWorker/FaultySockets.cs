using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentLocator.Tests.MediaWorker;

/// <summary>
/// What goes wrong with the server's side of each media WebSocket of a worker: after a number of
/// messages, its sends or its receives stall (a dead network path: nothing moves, nothing fails)
/// until the server's own timeout cancels them, which aborts the socket as a real one does.
/// </summary>
public sealed class SocketFaults
{
    public int StallSendsAfter { get; set; } = int.MaxValue;

    public int StallReceivesAfter { get; set; } = int.MaxValue;

    /// <summary>Wraps the accepted WebSocket of every media stream of the worker these services build.</summary>
    public void Register(IServiceCollection services) =>
        services.AddSingleton<IStartupFilter>(new FaultyWebSocketStartup(this));

    private sealed class FaultyWebSocketStartup(SocketFaults faults) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            // The framework's own handshake, run first; its feature is then wrapped. The app's
            // UseWebSockets later finds the feature set and leaves it be.
            var handshake = new WebSocketMiddleware(_ => Task.CompletedTask, Options.Create(new WebSocketOptions()),
                app.ApplicationServices.GetRequiredService<ILoggerFactory>());
            app.Use(async (context, nextMiddleware) =>
            {
                await handshake.Invoke(context);
                if (context.Features.Get<IHttpWebSocketFeature>() is { IsWebSocketRequest: true } feature)
                {
                    context.Features.Set<IHttpWebSocketFeature>(new Feature(feature, faults));
                }

                await nextMiddleware(context);
            });
            next(app);
        };
    }

    private sealed class Feature(IHttpWebSocketFeature inner, SocketFaults faults) : IHttpWebSocketFeature
    {
        public bool IsWebSocketRequest => inner.IsWebSocketRequest;

        public async Task<WebSocket> AcceptAsync(WebSocketAcceptContext context) => new FaultyWebSocket(await inner.AcceptAsync(context), faults);
    }

    private sealed class FaultyWebSocket(WebSocket inner, SocketFaults faults) : WebSocket
    {
        private int _sends;
        private int _receives;

        public override WebSocketCloseStatus? CloseStatus => inner.CloseStatus;

        public override string? CloseStatusDescription => inner.CloseStatusDescription;

        public override WebSocketState State => inner.State;

        public override string? SubProtocol => inner.SubProtocol;

        public override void Abort() => inner.Abort();

        public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) =>
            inner.CloseAsync(closeStatus, statusDescription, cancellationToken);

        public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) =>
            inner.CloseOutputAsync(closeStatus, statusDescription, cancellationToken);

        public override void Dispose() => inner.Dispose();

        public override async Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken)
        {
            await StallReceiveAsync(cancellationToken);
            var result = await inner.ReceiveAsync(buffer, cancellationToken);
            Count(result.EndOfMessage);
            return result;
        }

        public override async ValueTask<ValueWebSocketReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
        {
            await StallReceiveAsync(cancellationToken);
            var result = await inner.ReceiveAsync(buffer, cancellationToken);
            Count(result.EndOfMessage);
            return result;
        }

        public override async Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken)
        {
            await StallSendAsync(cancellationToken);
            await inner.SendAsync(buffer, messageType, endOfMessage, cancellationToken);
        }

        public override async ValueTask SendAsync(ReadOnlyMemory<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken)
        {
            await StallSendAsync(cancellationToken);
            await inner.SendAsync(buffer, messageType, endOfMessage, cancellationToken);
        }

        private void Count(bool endOfMessage)
        {
            if (endOfMessage)
            {
                Interlocked.Increment(ref _receives);
            }
        }

        private Task StallSendAsync(CancellationToken cancellationToken) =>
            Interlocked.Increment(ref _sends) > faults.StallSendsAfter ? StallAsync(cancellationToken) : Task.CompletedTask;

        private Task StallReceiveAsync(CancellationToken cancellationToken) =>
            Volatile.Read(ref _receives) >= faults.StallReceivesAfter ? StallAsync(cancellationToken) : Task.CompletedTask;

        private async Task StallAsync(CancellationToken cancellationToken)
        {
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                inner.Abort(); // as a real WebSocket does when an operation is cancelled
                throw;
            }
        }
    }
}
