using System.Net;
using System.Net.Sockets;

namespace AgentLocator.Tests.Infrastructure;

/// <summary>
/// A loopback TCP forwarder in front of a real server. <see cref="Cut"/> drops every
/// connection and refuses new ones (the dependency "goes away"); <see cref="Restore"/> brings it back.
/// The target may be set after the proxy starts (a port that must exist before the server behind
/// it, such as the Api's <c>PublicBaseUrl</c>); until then connections are refused.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _targetHost;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _open = [];
    private volatile bool _cut;

    public TcpProxy(string targetHost, int? targetPort)
    {
        _targetHost = targetHost;
        TargetPort = targetPort;
        _listener.Start();
        _ = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int? TargetPort { get; set; }

    public void Cut()
    {
        _cut = true;
        lock (_open)
        {
            foreach (var client in _open)
            {
                Reset(client);
            }
            _open.Clear();
        }
    }

    public void Restore() => _cut = false;

    /// <summary>Closes with RST, as a crashed server or a dropped network would.</summary>
    private static void Reset(TcpClient client)
    {
        try
        {
            client.Client?.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already closed.
        }
        client.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient inbound;
            try
            {
                inbound = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            if (_cut || TargetPort is null)
            {
                Reset(inbound);
                continue;
            }
            _ = PipeAsync(inbound);
        }
    }

    private async Task PipeAsync(TcpClient inbound)
    {
        var outbound = new TcpClient();
        try
        {
            await outbound.ConnectAsync(_targetHost, TargetPort!.Value, _stop.Token);
            lock (_open)
            {
                _open.Add(inbound);
                _open.Add(outbound);
            }
            using var done = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            var a = inbound.GetStream().CopyToAsync(outbound.GetStream(), done.Token);
            var b = outbound.GetStream().CopyToAsync(inbound.GetStream(), done.Token);
            await Task.WhenAny(a, b);
            await done.CancelAsync();
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The proxy was cut or one side went away.
        }
        finally
        {
            inbound.Dispose();
            outbound.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Cut();
        _stop.Dispose();
    }
}
