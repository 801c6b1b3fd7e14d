using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using AgentLocator.Data.Sessions;
using StackExchange.Redis;

namespace AgentLocator.Benchmarks;

/// <summary>
/// GET/SET throughput of StackExchange.Redis as the services configure it (one multiplexer,
/// <see cref="CallPathRedisDefaults"/>) next to redis-benchmark on the same server in the same run:
/// once with as many connections as we have callers and one request in flight each, once pipelined (-P 16).
/// <c>dotnet run -c Release --project AgentLocator.Benchmarks -- redis [--connection host:port[,password=…]] [--duration 10] [--callers 50] [--requests 500000]</c>
/// </summary>
public sealed partial class RedisBenchmark : IBenchmark
{
    public string Name => "redis";

    public string Description => "StackExchange.Redis GET/SET ops/s (N callers, one multiplexer) vs redis-benchmark -c N and -P 16";

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var options = BenchmarkArgs.Parse(args);
        var connection = options.Get("connection", "");
        var duration = TimeSpan.FromSeconds(double.Parse(options.Get("duration", "10"), CultureInfo.InvariantCulture));
        var callers = int.Parse(options.Get("callers", "50"), CultureInfo.InvariantCulture);
        var requests = int.Parse(options.Get("requests", "500000"), CultureInfo.InvariantCulture);

        Process? server = null;
        string? dataDirectory = null;
        try
        {
            if (connection.Length == 0)
            {
                (server, dataDirectory, connection) = await StartRedisServerAsync(cancellationToken);
            }
            var configuration = ConfigurationOptions.Parse(connection);
            configuration.Defaults = new CallPathRedisDefaults();
            var (host, port) = configuration.EndPoints[0] switch
            {
                DnsEndPoint dns => (dns.Host, dns.Port),
                IPEndPoint ip => (ip.Address.ToString(), ip.Port),
                var other => throw new InvalidOperationException($"Unsupported endpoint {other}."),
            };
            Console.WriteLine($"redis benchmark: server {host}:{port}, {callers} concurrent callers, {duration.TotalSeconds:0} s, GET/SET alternating, 16-byte values");

            await using var multiplexer = await ConnectionMultiplexer.ConnectAsync(configuration);
            if (!multiplexer.IsConnected)
            {
                Console.WriteLine($"could not connect to {host}:{port}");
                return 1;
            }
            var db = multiplexer.GetDatabase();
            await RunClientAsync(db, callers, TimeSpan.FromSeconds(1), cancellationToken);
            var (sets, gets, errors, elapsed) = await RunClientAsync(db, callers, duration, cancellationToken);
            var setRate = sets / elapsed.TotalSeconds;
            var getRate = gets / elapsed.TotalSeconds;
            Console.WriteLine($"StackExchange.Redis: {sets + gets:N0} ops in {elapsed.TotalSeconds:0.00} s: SET {setRate:N0}/s, GET {getRate:N0}/s ({errors} errors)");

            var same = await RunRedisBenchmarkAsync(host, port, configuration.Password, requests, ["-c", callers.ToString(CultureInfo.InvariantCulture)], cancellationToken);
            var pipelined = await RunRedisBenchmarkAsync(host, port, configuration.Password, requests, ["-P", "16"], cancellationToken);
            if (same is null || pipelined is null)
            {
                return 1;
            }
            Report($"redis-benchmark -c {callers} -n {requests}", same.Value, setRate, getRate);
            Report($"redis-benchmark -P 16 -n {requests}", pipelined.Value, setRate, getRate);
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

    private static void Report(string reference, (double Set, double Get) rates, double setRate, double getRate) =>
        Console.WriteLine($"{reference}: SET {rates.Set:N0}/s, GET {rates.Get:N0}/s; ratio StackExchange.Redis / redis-benchmark: SET {setRate / rates.Set:0.00}, GET {getRate / rates.Get:0.00}");

    private static async Task<(long Sets, long Gets, long Errors, TimeSpan Elapsed)> RunClientAsync(
        IDatabase db, int callers, TimeSpan duration, CancellationToken cancellationToken)
    {
        long sets = 0, gets = 0, errors = 0;
        RedisValue value = new string('v', 16);
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, callers).Select(caller => Task.Run(async () =>
        {
            RedisKey key = $"bench:{caller}";
            long localSets = 0, localGets = 0, failed = 0;
            while (watch.Elapsed < duration && !cancellationToken.IsCancellationRequested)
            {
                try
                {
                    if (((localSets + localGets) & 1) == 0)
                    {
                        await db.StringSetAsync(key, value);
                        localSets++;
                    }
                    else
                    {
                        await db.StringGetAsync(key);
                        localGets++;
                    }
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    failed++;
                }
            }
            Interlocked.Add(ref sets, localSets);
            Interlocked.Add(ref gets, localGets);
            Interlocked.Add(ref errors, failed);
        }, cancellationToken)));
        return (sets, gets, errors, watch.Elapsed);
    }

    private static async Task<(double Set, double Get)?> RunRedisBenchmarkAsync(
        string host, int port, string? password, int requests, string[] shape, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("redis-benchmark") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "-h", host, "-p", port.ToString(CultureInfo.InvariantCulture), "-t", "get,set",
                     "-n", requests.ToString(CultureInfo.InvariantCulture), "-d", "16", "-q" }.Concat(shape))
        {
            info.ArgumentList.Add(arg);
        }
        if (password is not null)
        {
            info.ArgumentList.Add("-a");
            info.ArgumentList.Add(password);
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start redis-benchmark (apt-get install -y redis-tools).");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var output = await stdout + await stderr;

        double? set = null, get = null;
        foreach (var line in output.Split('\r', '\n'))
        {
            if (RateLine().Match(line) is { Success: true } match)
            {
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
        }
        if (set is null || get is null)
        {
            Console.WriteLine($"redis-benchmark {string.Join(' ', shape)} output could not be parsed:");
            Console.WriteLine(output);
            return null;
        }
        return (set.Value, get.Value);
    }

    private static async Task<(Process Server, string DataDirectory, string ConnectionString)> StartRedisServerAsync(CancellationToken cancellationToken)
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
        // Wait until it listens, so the first connect does not race the server's start.
        for (var attempt = 0; attempt < 100; attempt++)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                break;
            }
            catch (SocketException)
            {
                await Task.Delay(50, cancellationToken);
            }
        }
        return (process, dataDirectory, $"127.0.0.1:{port}");
    }

    [GeneratedRegex(@"^\s*(SET|GET): ([\d.]+) requests per second")]
    private static partial Regex RateLine();
}
