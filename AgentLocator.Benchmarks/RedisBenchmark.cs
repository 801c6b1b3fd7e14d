using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using AgentLocator.Redis;

namespace AgentLocator.Benchmarks;

/// <summary>
/// Pipelined GET/SET throughput of AgentLocator.Redis against redis-benchmark on the same server.
/// <c>dotnet run -c Release --project AgentLocator.Benchmarks -- redis [--connection host:port] [--duration 10] [--callers 64] [--requests 500000]</c>
/// </summary>
public sealed partial class RedisBenchmark : IBenchmark
{
    public string Name => "redis";

    public string Description => "AgentLocator.Redis pipelined GET/SET ops/s vs redis-benchmark -P 16";

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var connection = Option(args, "--connection");
        var duration = TimeSpan.FromSeconds(double.Parse(Option(args, "--duration") ?? "10", CultureInfo.InvariantCulture));
        var callers = int.Parse(Option(args, "--callers") ?? "64", CultureInfo.InvariantCulture);
        var requests = int.Parse(Option(args, "--requests") ?? "500000", CultureInfo.InvariantCulture);

        Process? server = null;
        string? dataDirectory = null;
        try
        {
            if (connection is null)
            {
                (server, dataDirectory, connection) = StartRedisServer();
            }
            var options = RedisConnectionOptions.Parse(connection);
            Console.WriteLine($"redis benchmark: server {options.EndPoint}, {callers} concurrent callers, {duration.TotalSeconds:0} s, GET/SET alternating, 16-byte values");

            await using var client = new RedisClient(options);
            using (var ready = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                ready.CancelAfter(TimeSpan.FromSeconds(15));
                await client.WaitUntilConnectedAsync(ready.Token);
            }

            await RunClientAsync(client, callers, TimeSpan.FromSeconds(1), cancellationToken);
            var (ops, errors, elapsed) = await RunClientAsync(client, callers, duration, cancellationToken);
            var clientRate = ops / elapsed.TotalSeconds;
            Console.WriteLine($"AgentLocator.Redis: {ops:N0} ops in {elapsed.TotalSeconds:0.00} s = {clientRate:N0} ops/s ({errors} errors)");

            var (setRate, getRate, output) = await RunRedisBenchmarkAsync(options, requests, cancellationToken);
            if (setRate is null || getRate is null)
            {
                Console.WriteLine("redis-benchmark output could not be parsed:");
                Console.WriteLine(output);
                return 1;
            }
            var reference = (setRate.Value + getRate.Value) / 2;
            Console.WriteLine($"redis-benchmark -P 16 -n {requests}: SET {setRate:N0} req/s, GET {getRate:N0} req/s, mean {reference:N0} req/s");
            Console.WriteLine($"ratio AgentLocator.Redis / redis-benchmark: {clientRate / reference:0.00}");
            return errors == 0 ? 0 : 1;
        }
        finally
        {
            if (server is not null)
            {
                server.Kill(entireProcessTree: true);
                await server.WaitForExitAsync(CancellationToken.None);
                server.Dispose();
            }
            if (dataDirectory is not null)
            {
                Directory.Delete(dataDirectory, recursive: true);
            }
        }
    }

    private static async Task<(long Ops, long Errors, TimeSpan Elapsed)> RunClientAsync(
        RedisClient client, int callers, TimeSpan duration, CancellationToken cancellationToken)
    {
        long ops = 0;
        long errors = 0;
        var value = new string('v', 16);
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, callers).Select(caller => Task.Run(async () =>
        {
            var key = $"bench:{caller}";
            long local = 0;
            long failed = 0;
            while (watch.Elapsed < duration && !cancellationToken.IsCancellationRequested)
            {
                try
                {
                    if ((local & 1) == 0)
                    {
                        await client.SetAsync(key, value);
                    }
                    else
                    {
                        await client.GetAsync(key);
                    }
                }
                catch (RedisException)
                {
                    failed++;
                }
                local++;
            }
            Interlocked.Add(ref ops, local);
            Interlocked.Add(ref errors, failed);
        }, cancellationToken)));
        return (ops, errors, watch.Elapsed);
    }

    private static async Task<(double? Set, double? Get, string Output)> RunRedisBenchmarkAsync(
        RedisConnectionOptions options, int requests, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("redis-benchmark")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-h", options.Host, "-p", options.Port.ToString(CultureInfo.InvariantCulture),
                     "-t", "get,set", "-n", requests.ToString(CultureInfo.InvariantCulture), "-P", "16", "-d", "16", "-q" })
        {
            info.ArgumentList.Add(arg);
        }
        if (options.Password is not null)
        {
            info.ArgumentList.Add("-a");
            info.ArgumentList.Add(options.Password);
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start redis-benchmark.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var output = await stdout + await stderr;

        double? set = null, get = null;
        foreach (var line in output.Split('\r', '\n'))
        {
            var match = RateLine().Match(line);
            if (!match.Success)
            {
                continue;
            }
            var rate = double.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
            if (match.Groups[1].Value == "SET")
            {
                set = rate;
            }
            else
            {
                get = rate;
            }
        }
        return (set, get, output);
    }

    private static (Process Server, string DataDirectory, string ConnectionString) StartRedisServer()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var dataDirectory = Directory.CreateTempSubdirectory("agentlocator-redis-bench-").FullName;
        var info = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true, WorkingDirectory = dataDirectory };
        foreach (var arg in new[] { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--dir", dataDirectory, "--loglevel", "warning" })
        {
            info.ArgumentList.Add(arg);
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start redis-server (apt-get install -y redis-server).");
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        return (process, dataDirectory, $"127.0.0.1:{port}");
    }

    private static string? Option(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }

    [GeneratedRegex(@"^\s*(SET|GET): ([\d.]+) requests per second")]
    private static partial Regex RateLine();
}
