using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using AgentLocator.Api.Webhooks;
using AgentLocator.Twilio.Security;

namespace AgentLocator.Benchmarks;

/// <summary>
/// Drives signed <c>/webhook/incoming_call</c> requests at a fixed (open-loop) rate against a
/// running Api and reports latency percentiles and throughput next to <c>/health</c> on the same
/// server. Start the system first, with signature checks on so their cost is measured:
/// <code>dotnet run --project AgentLocator.AppHost -- --AppHost:Ephemeral true
///   --AppHost:Resources:api:Env:Twilio__ValidateSignatures true --AppHost:Resources:api:Env:Twilio__AuthToken bench-token</code>
/// then <c>dotnet run -c Release --project AgentLocator.Benchmarks -- webhooks --auth-token bench-token</c>.
/// Each call carries an <c>I-Twilio-Idempotency-Token</c> as Twilio's do (<c>--idempotency false</c> leaves it out).
/// Each answer counts as served in full, shed (the Api answered at once past its capacity and deferred the writes: the
/// <c>X-AgentLocator-Shed</c> header), or failed (not 2xx, or no answer within the client's 20 s); the ceiling is the rate
/// served in full.
/// With <c>--cpu-pids api=&lt;pid&gt;,postgres=&lt;postmaster pid&gt;,redis=&lt;pid&gt;</c> it also reports each process's CPU
/// milliseconds per request of each endpoint (<see cref="ProcessCpu"/>), which holds on a busy machine where
/// wall-clock numbers do not: <c>scripts/cpu-per-request.sh</c> finds the pids.
/// </summary>
public sealed class WebhookBenchmark : IBenchmark
{
    public string Name => "webhooks";

    public string Description => "incoming_call p50/p99 and throughput at a fixed rate, next to /health (needs a running Api)";

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var options = BenchmarkArgs.Parse(args);
        var baseUrl = options.Get("base-url", "http://localhost:5080").TrimEnd('/');
        var publicBaseUrl = options.Get("public-base-url", baseUrl).TrimEnd('/');
        var authToken = options.Get("auth-token", "bench-token");
        var rate = int.Parse(options.Get("rate", "200"));
        var seconds = int.Parse(options.Get("seconds", "15"));
        var apiKey = options.Get("api-key", "");
        var idempotency = bool.Parse(options.Get("idempotency", "true"));
        var warmupSeconds = int.Parse(options.Get("warmup-seconds", "2"));
        var cpu = options.Get("cpu-pids", "") is { Length: > 0 } pids ? ProcessCpu.Parse(pids) : null;

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 512, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = new Uri(baseUrl),
            Timeout = TimeSpan.FromSeconds(20),
        };
        if (apiKey.Length > 0)
        {
            http.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        }

        // A business whose number the calls dial.
        var (number, businessId) = await IncomingCallRequests.CreateBusinessAsync(http, cancellationToken);
        var signer = new TwilioRequestSigner(authToken);
        var url = publicBaseUrl + IncomingCallRequests.Path;

        HttpRequestMessage IncomingCall(int i)
        {
            var form = IncomingCallRequests.Form(i, number);
            var request = new HttpRequestMessage(HttpMethod.Post, IncomingCallRequests.Path) { Content = new FormUrlEncodedContent(form) };
            request.Headers.Add("X-Twilio-Signature", signer.Sign(url, form));
            if (idempotency)
            {
                request.Headers.Add("I-Twilio-Idempotency-Token", Guid.NewGuid().ToString("D"));
            }
            return request;
        }

        // Warm up both paths (JIT, connection pools, the business cache).
        await DriveAsync(http, i => new HttpRequestMessage(HttpMethod.Get, "/health"), 50, warmupSeconds, cancellationToken);
        await DriveAsync(http, IncomingCall, 50, warmupSeconds, cancellationToken);

        // With CPU measured: first what the processes burn doing nothing (timers, pollers, other clients), taken
        // off each endpoint's share below in proportion to its run's length.
        var idleCpu = cpu?.Sample();
        var idle = Stopwatch.StartNew();
        if (cpu is not null)
        {
            await Task.Delay(TimeSpan.FromSeconds(Math.Min(seconds, 10)), cancellationToken);
        }
        var idleElapsed = idle.Elapsed;
        var healthCpu = cpu?.Sample();
        var health = await DriveAsync(http, _ => new HttpRequestMessage(HttpMethod.Get, "/health"), rate, seconds, cancellationToken);
        var callsCpu = cpu?.Sample();
        var calls = await DriveAsync(http, IncomingCall, rate, seconds, cancellationToken);
        var endCpu = cpu?.Sample();

        Console.WriteLine($"target rate {rate}/s for {seconds} s each, business {businessId}");
        Console.WriteLine("| endpoint | requests | served in full | shed | failed | answered (req/s) | in full (req/s) | p50 ms | p90 ms | p99 ms | max ms |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        Print("GET /health", health);
        Print("POST /webhook/incoming_call (signed, writes call + customer)", calls);
        if (calls.Shed > 0)
        {
            Console.WriteLine($"shed incoming_call answers: {ShedLatencies(calls)}");
        }
        if (cpu is not null)
        {
            var names = cpu.Names.Append("loadgen").ToList();
            var idleRate = names.ToDictionary(n => n, n => (healthCpu![n] - idleCpu![n]) / idleElapsed.TotalSeconds);
            Console.WriteLine();
            Console.WriteLine("CPU ms per request (user + system, children included; idle CPU over the run's length taken off), by process:");
            Console.WriteLine($"| endpoint | {string.Join(" | ", names)} | total |");
            Console.WriteLine($"|---|{string.Concat(names.Select(_ => "---:|"))}---:|");
            Console.WriteLine($"| idle (ms per second) | {string.Join(" | ", names.Select(n => Format(idleRate[n])))} | {Format(idleRate.Values.Sum())} |");
            PrintCpu("GET /health", healthCpu!, callsCpu!, health, idleRate, names);
            PrintCpu("POST /webhook/incoming_call", callsCpu!, endCpu!, calls, idleRate, names);
        }
        return calls.Errors == 0 ? 0 : 1;
    }

    /// <summary>Latency over every request, failed ones included (a timeout counts at the time it took).</summary>
    private static void Print(string name, RunResult r)
    {
        var sorted = r.LatenciesMs.Order().ToArray();
        var full = sorted.Length - r.Shed - r.Errors;
        Console.WriteLine($"| {name} | {sorted.Length} | {full} | {r.Shed} | {r.Errors} | {(sorted.Length - r.Errors) / r.Elapsed.TotalSeconds:F0} | " +
            $"{full / r.Elapsed.TotalSeconds:F0} | {Percentile(sorted, 0.50):F2} | {Percentile(sorted, 0.90):F2} | {Percentile(sorted, 0.99):F2} | {(sorted.Length == 0 ? 0 : sorted[^1]):F2} |");
    }

    private static string ShedLatencies(RunResult r)
    {
        var sorted = r.LatenciesMs.Where((_, i) => r.Outcomes[i] == Outcome.Shed).Order().ToArray();
        return $"{sorted.Length}, p50 {Percentile(sorted, 0.50):F2} ms, p99 {Percentile(sorted, 0.99):F2} ms, max {sorted[^1]:F2} ms";
    }

    private static double Percentile(double[] sorted, double q) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];

    private static void PrintCpu(string name, Dictionary<string, double> before, Dictionary<string, double> after, RunResult run,
        Dictionary<string, double> idleRate, List<string> names)
    {
        var perRequest = names.Select(n => (after[n] - before[n] - idleRate[n] * run.Elapsed.TotalSeconds) / run.LatenciesMs.Length).ToList();
        Console.WriteLine($"| {name} | {string.Join(" | ", perRequest.Select(Format))} | {Format(perRequest.Sum())} |");
    }

    private static string Format(double value) => value.ToString("F3", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Open loop: request i is sent at start + i/rate whether or not earlier ones have answered.</summary>
    private static async Task<RunResult> DriveAsync(HttpClient http, Func<int, HttpRequestMessage> make, int rate, int seconds, CancellationToken cancellationToken)
    {
        var total = rate * seconds;
        var latencies = new double[total];
        var outcomes = new Outcome[total];
        var tasks = new List<Task>(total);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < total; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / rate);
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait, cancellationToken);
            }
            var index = i;
            tasks.Add(Task.Run(async () =>
            {
                using var request = make(index);
                var started = Stopwatch.GetTimestamp();
                try
                {
                    using var response = await http.SendAsync(request, cancellationToken);
                    await response.Content.ReadAsByteArrayAsync(cancellationToken);
                    outcomes[index] = !response.IsSuccessStatusCode ? Outcome.Failed
                        : response.Headers.Contains(WebhookAdmission.ShedHeader) ? Outcome.Shed
                        : Outcome.Full;
                }
                catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
                {
                    // Refused, reset, or no answer within the client's timeout: an error of the run, not the end of it.
                    outcomes[index] = Outcome.Failed;
                }
                latencies[index] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }, cancellationToken));
        }
        await Task.WhenAll(tasks);
        return new RunResult(latencies, outcomes, clock.Elapsed);
    }

    private enum Outcome
    {
        Full,
        Shed,
        Failed,
    }

    private sealed record RunResult(double[] LatenciesMs, Outcome[] Outcomes, TimeSpan Elapsed)
    {
        public int Errors { get; } = Outcomes.Count(o => o == Outcome.Failed);

        public int Shed { get; } = Outcomes.Count(o => o == Outcome.Shed);
    }
}
