using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgentLocator.Twilio.Security;

namespace AgentLocator.Tests.Twilio;

/// <summary>
/// Compares <see cref="TwilioRequestValidator"/> with Twilio's official Node helper library
/// (tests-node/sign.js). Needs Node.js and <c>npm ci --prefix tests-node</c>; fails when either is missing.
/// </summary>
public sealed class TwilioSignatureCrossCheckTests
{
    private const string AuthToken = "f3c9a1e07b5d4c2e9a8b7c6d5e4f3a2b";
    private const int Seed = 20261121;
    private const int CaseCount = 400;

    private static readonly string[] Hosts = ["mycompany.com", "MyCompany.com", "API.Example.ORG", "abc123.ngrok-free.app", "localhost", "127.0.0.1", "[::1]", "Twilio-Hooks.example.co.il"];
    private static readonly string[] Names = ["CallSid", "Caller", "Called", "CallStatus", "From", "To", "Body", "Digits", "MediaUrl0", "MediaUrl", "a", "A", "_x", "z9", "Ünïcode", "שם", "ProfileName"];
    private static readonly string[] Fragments =
    [
        "a", "Z", "0", " ", "  ", "+", "&", "=", "%", "%20", "%D7%A9", "?", "/", "'", "\"", "<", ">", "~", "*", "(", ")", "!", "$", ",", ";",
        "שלום", "מספרה", "רחל", "é", "ß", "😀", "\n", "\t", "Cohen & Sons", "+972501234567", "whatsapp:+972501234567", "CA0123456789abcdef",
    ];

    [Fact]
    public async Task SignaturesAgreeWithTheOfficialNodeHelperLibraryForRandomRequests()
    {
        var random = new Random(Seed);
        var validator = new TwilioRequestValidator(AuthToken);
        var cases = Enumerable.Range(0, CaseCount).Select(_ => NewCase(random, validator)).ToList();

        var node = await RunNodeAsync(cases);

        Assert.Equal(cases.Count, node.Results.Count);
        var disagreements = new List<string>();
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            var n = node.Results[i];
            if (n.Signature != c.OtherSignature)
            {
                disagreements.Add($"#{i} signature C# {c.OtherSignature} vs Node {n.Signature} for {Describe(c)}");
            }

            if (!n.OtherSignatureValid)
            {
                disagreements.Add($"#{i} Node rejected the C# signature for {Describe(c)}");
            }

            var csharpAcceptsNode = c.Body is null
                ? validator.Validate(c.Url, c.Params.Select(p => new KeyValuePair<string, string>(p[0], p[1])), n.Signature)
                : validator.ValidateWithBody(c.Url, c.Body, n.Signature);
            if (!csharpAcceptsNode)
            {
                disagreements.Add($"#{i} C# rejected the Node signature for {Describe(c)}");
            }
        }

        Assert.True(disagreements.Count == 0, $"twilio {node.TwilioVersion}: {disagreements.Count} disagreements:\n" + string.Join('\n', disagreements.Take(20)));
        Assert.Contains(cases, c => c.Body is not null);
        Assert.Contains(cases, c => c.Params.GroupBy(p => p[0]).Any(g => g.Count() > 1));
    }

    [Fact]
    public async Task TamperedSignaturesAreRejectedByBothImplementations()
    {
        var random = new Random(Seed + 1);
        var validator = new TwilioRequestValidator(AuthToken);
        var cases = Enumerable.Range(0, 20).Select(_ =>
        {
            var c = NewCase(random, validator);
            var tampered = validator.ComputeSignature(c.Url + "x", c.Params.Select(p => new KeyValuePair<string, string>(p[0], p[1])));
            return c with { OtherSignature = tampered };
        }).ToList();

        var node = await RunNodeAsync(cases);

        Assert.All(node.Results, r => Assert.False(r.OtherSignatureValid));
        Assert.All(cases.Zip(node.Results), pair => Assert.False(pair.First.Body is null
            ? validator.Validate(pair.First.Url, pair.First.Params.Select(p => new KeyValuePair<string, string>(p[0], p[1])), pair.First.OtherSignature)
            : validator.ValidateWithBody(pair.First.Url, pair.First.Body, pair.First.OtherSignature)));
    }

    private static SigningCase NewCase(Random random, TwilioRequestValidator validator)
    {
        var scheme = random.Next(2) == 0 ? "https" : "http";
        var port = random.Next(5) switch
        {
            0 => ":443",
            1 => ":80",
            2 => ":" + random.Next(1024, 65536),
            _ => string.Empty,
        };
        var path = string.Concat(Enumerable.Range(0, random.Next(1, 4)).Select(_ => "/" + PathSegment(random)));
        var query = random.Next(3) == 0
            ? string.Empty
            : "?" + string.Join('&', Enumerable.Range(0, random.Next(1, 4)).Select(_ => $"{Uri.EscapeDataString(Pick(random, Names))}={QueryValue(random)}"));
        var url = $"{scheme}://{Pick(random, Hosts)}{port}{path}{query}";

        if (random.Next(8) == 0)
        {
            var body = JsonSerializer.Serialize(new { text = RandomText(random), n = random.Next() });
            var hash = TwilioRequestValidator.ComputeBodyHash(Encoding.UTF8.GetBytes(body));
            url += (query.Length == 0 ? "?" : "&") + "bodySHA256=" + hash;
            return new SigningCase(url, [], body, validator.ComputeSignature(url));
        }

        var parameters = new List<string[]>();
        for (var i = random.Next(0, 9); i > 0; i--)
        {
            var name = Pick(random, Names);
            var value = random.Next(6) == 0 ? string.Empty : RandomText(random);
            parameters.Add([name, value]);
            if (random.Next(5) == 0)
            {
                // Repeat the name, sometimes with the very same value.
                parameters.Add([name, random.Next(3) == 0 ? value : RandomText(random)]);
            }
        }

        var signature = validator.ComputeSignature(url, parameters.Select(p => new KeyValuePair<string, string>(p[0], p[1])));
        return new SigningCase(url, parameters, null, signature);
    }

    private static string PathSegment(Random random) => random.Next(4) switch
    {
        0 => "webhook",
        1 => Uri.EscapeDataString(RandomText(random)),
        2 => "incoming_call",
        _ => "שלום" + random.Next(100),
    };

    private static string QueryValue(Random random) => random.Next(3) switch
    {
        0 => Uri.EscapeDataString(RandomText(random)),
        1 => random.Next(1000).ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => "ערך" + random.Next(10),
    };

    private static string RandomText(Random random) =>
        string.Concat(Enumerable.Range(0, random.Next(1, 6)).Select(_ => Pick(random, Fragments)));

    private static string Pick(Random random, string[] values) => values[random.Next(values.Length)];

    private static string Describe(SigningCase c) =>
        $"url={c.Url} params=[{string.Join(", ", c.Params.Select(p => $"{p[0]}={JsonSerializer.Serialize(p[1])}"))}] body={c.Body}";

    private static async Task<NodeOutput> RunNodeAsync(IReadOnlyList<SigningCase> cases)
    {
        var script = Path.Combine(RepositoryRoot.Path, "tests-node", "sign.js");
        var package = Path.Combine(RepositoryRoot.Path, "tests-node", "node_modules", "twilio", "package.json");
        Assert.True(File.Exists(script), $"{script} is missing.");
        if (!File.Exists(package))
        {
            // A fresh checkout: install the pinned helper library (package-lock.json) from the npm registry.
            await NpmCiAsync(Path.Combine(RepositoryRoot.Path, "tests-node"));
        }
        Assert.True(File.Exists(package), $"{package} is missing: run `npm ci --prefix tests-node` at the repository root.");

        var input = Path.Combine(Path.GetTempPath(), $"twilio-signatures-{Guid.NewGuid():N}.json");
        try
        {
            await File.WriteAllTextAsync(input, JsonSerializer.Serialize(new NodeInput(AuthToken, cases)), new UTF8Encoding(false));
            var start = new ProcessStartInfo("node", [script, input])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                StandardOutputEncoding = Encoding.UTF8,
                UseShellExecute = false,
            };

            Process process;
            try
            {
                process = Process.Start(start) ?? throw new InvalidOperationException("node did not start.");
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new InvalidOperationException("Node.js (`node`) is not on PATH; it is needed for the Twilio signature cross-check.", e);
            }

            using (process)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
                var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
                await process.WaitForExitAsync(timeout.Token);
                Assert.True(process.ExitCode == 0, $"node sign.js exited with {process.ExitCode}: {await stderr}");
                return JsonSerializer.Deserialize<NodeOutput>(await stdout) ?? throw new InvalidOperationException("node sign.js printed nothing.");
            }
        }
        finally
        {
            File.Delete(input);
        }
    }

    private static async Task NpmCiAsync(string folder)
    {
        var start = new ProcessStartInfo("npm", ["ci", "--no-audit", "--no-fund", "--prefix", folder])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("npm did not start.");
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        _ = process.StandardOutput.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"npm ci --prefix {folder} exited with {process.ExitCode}: {await stderr}");
    }

    private sealed record SigningCase(
        [property: JsonPropertyName("url")] string Url,
        [property: JsonPropertyName("params")] IReadOnlyList<string[]> Params,
        [property: JsonPropertyName("body")] string? Body,
        [property: JsonPropertyName("otherSignature")] string OtherSignature);

    private sealed record NodeInput(
        [property: JsonPropertyName("authToken")] string AuthToken,
        [property: JsonPropertyName("cases")] IReadOnlyList<SigningCase> Cases);

    private sealed record NodeOutput(
        [property: JsonPropertyName("twilioVersion")] string TwilioVersion,
        [property: JsonPropertyName("results")] IReadOnlyList<NodeResult> Results);

    private sealed record NodeResult(
        [property: JsonPropertyName("signature")] string Signature,
        [property: JsonPropertyName("otherSignatureValid")] bool OtherSignatureValid);
}
