using System.Text;
using AgentLocator.Twilio.Security;

namespace AgentLocator.Benchmarks;

/// <summary>
/// Writes signed <c>incoming_call</c> requests, one new call per line, for <c>wrk</c> to replay with
/// <c>scripts/incoming-call.lua</c>: the closed-loop ceiling of the webhook, measured as <c>pgbench</c> measures
/// Postgres's, by a C load generator that costs the shared cores little (the open-loop <c>webhooks</c> benchmark
/// spends about as much CPU per request as the Api). Each line: signature, idempotency token, form body, tab-separated.
/// <c>dotnet run -c Release --project AgentLocator.Benchmarks -- webhook-requests --base-url http://localhost:6080
/// --auth-token bench-token --api-key &lt;crm key&gt; --count 200000 --out /tmp/incoming-call.tsv</c>
/// </summary>
public sealed class WebhookRequestsBenchmark : IBenchmark
{
    public string Name => "webhook-requests";

    public string Description => "writes signed incoming_call requests for wrk's closed-loop ceiling (scripts/incoming-call.lua)";

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var options = BenchmarkArgs.Parse(args);
        var baseUrl = options.Get("base-url", "http://localhost:5080").TrimEnd('/');
        var publicBaseUrl = options.Get("public-base-url", baseUrl).TrimEnd('/');
        var count = int.Parse(options.Get("count", "200000"));
        var output = options.Get("out", "incoming-call.tsv");
        var signer = new TwilioRequestSigner(options.Get("auth-token", "bench-token"));

        using var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
        http.DefaultRequestHeaders.Add("X-Api-Key", options.Get("api-key", ""));
        var (number, businessId) = await IncomingCallRequests.CreateBusinessAsync(http, cancellationToken);
        var url = publicBaseUrl + IncomingCallRequests.Path;

        await using var file = new StreamWriter(output, append: false, new UTF8Encoding(false));
        for (var i = 0; i < count; i++)
        {
            var form = IncomingCallRequests.Form(i, number);
            using var body = new FormUrlEncodedContent(form);
            await file.WriteAsync($"{signer.Sign(url, form)}\t{Guid.NewGuid():D}\t{await body.ReadAsStringAsync(cancellationToken)}\n");
        }
        Console.WriteLine($"{count} signed incoming_call requests for business {businessId} ({number}) in {output}");
        return 0;
    }
}
