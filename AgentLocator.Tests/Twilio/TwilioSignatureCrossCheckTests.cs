using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgentLocator.Twilio.Security;

namespace AgentLocator.Tests.Twilio;

/// <summary>
/// Compares the project's signature check (<see cref="TwilioSignatureValidator"/>, the SDK's RequestValidator
/// inside) and signer with Twilio's official Node helper library (tests-node/sign.js) over random requests:
/// ports added and removed both ways, repeated names, names that differ only in case, Unicode and newlines
/// in values, query strings, JSON bodies with <c>bodySHA256</c>; genuine and forged signatures alike.
/// Needs Node.js and <c>npm ci --prefix tests-node</c> (installed on first use); fails when either is missing.
/// </summary>
public sealed class TwilioSignatureCrossCheckTests
{
    private const string AuthToken = "f3c9a1e07b5d4c2e9a8b7c6d5e4f3a2b";
    private const string OtherToken = "0000a1e07b5d4c2e9a8b7c6d5e4f3a2b";
    private const int Seed = 20261121;
    private const int CaseCount = 400;

    private static readonly string[] Hosts = ["mycompany.com", "MyCompany.com", "API.Example.ORG", "abc123.ngrok-free.app", "localhost", "127.0.0.1", "[::1]", "Twilio-Hooks.example.co.il"];
    private static readonly string[] Names = ["CallSid", "Caller", "Called", "CallStatus", "From", "from", "FROM", "To", "Body", "body", "Digits", "MediaUrl0", "MediaUrl", "a", "A", "_x", "z9", "Ünïcode", "שם", "ProfileName"];
    private static readonly string[] Fragments =
    [
        "a", "Z", "0", " ", "  ", "+", "&", "=", "%", "%20", "%D7%A9", "?", "/", "'", "\"", "<", ">", "~", "*", "(", ")", "!", "$", ",", ";",
        "שלום", "מספרה", "רחל", "é", "ß", "😀", "\n", "\r\n", "\t", "Cohen & Sons", "+972501234567", "whatsapp:+972501234567", "CA0123456789abcdef",
    ];

    [Fact]
    public async Task TheProjectAcceptsExactlyTheSignaturesTheOfficialNodeLibraryAcceptsForRandomRequests()
    {
        var random = new Random(Seed);
        var cases = Enumerable.Range(0, CaseCount).Select(_ => NewCase(random)).ToList();
        var validator = new TwilioSignatureValidator(AuthToken);

        var node = await RunNodeAsync(cases);

        Assert.Equal(cases.Count, node.Results.Count);
        var disagreements = new List<string>();
        var accepted = new Dictionary<string, int>();
        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i];
            var n = node.Results[i];
            for (var j = 0; j < c.Signings.Count; j++)
            {
                var signing = c.Signings[j];
                var ours = c.Body is null
                    ? validator.IsValid(c.Url, Pairs(c.Params), n.Signatures[j])
                    : validator.IsValidWithBody(c.Url, signing.Body ?? c.Body, n.Signatures[j]);
                if (ours != n.Valid[j])
                {
                    disagreements.Add($"#{i} {signing.Kind}: project {(ours ? "accepts" : "rejects")}, Node {(n.Valid[j] ? "accepts" : "rejects")}; signed {signing.Url} for {Describe(c)}");
                }

                accepted[signing.Kind] = accepted.GetValueOrDefault(signing.Kind) + (ours ? 1 : 0);
            }

            var signed = new TwilioRequestSigner(AuthToken).Sign(c.Url, Pairs(c.Params));
            if (signed != n.Signatures[0])
            {
                disagreements.Add($"#{i} the project's signer gives {signed}, Node {n.Signatures[0]} for {Describe(c)}");
            }
        }

        Assert.True(disagreements.Count == 0, $"twilio {node.TwilioVersion}: {disagreements.Count} disagreements:\n" + string.Join('\n', disagreements.Take(20)));
        // Genuine and port-variant signatures pass, forged ones fail (with Node's agreement, asserted above).
        Assert.Equal(CaseCount, accepted["genuine"]);
        Assert.Equal(CaseCount, accepted["other-port-form"]);
        Assert.Equal(CaseCount, accepted["shuffled"]);
        foreach (var forged in new[] { "wrong-token", "other-path", "other-port", "other-host", "tampered-value", "extra-field", "name-case", "tampered-body" })
        {
            Assert.Equal(0, accepted.GetValueOrDefault(forged));
        }

        // The random requests cover every case the project must agree on.
        Assert.Contains(cases, c => c.Body is not null);
        Assert.Contains(cases, c => c.Params.GroupBy(p => p[0], StringComparer.Ordinal).Any(g => g.Count() > 1));
        Assert.Contains(cases, c => c.Params.Select(p => p[0]).Distinct(StringComparer.Ordinal).Count() > c.Params.Select(p => p[0]).Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Contains(cases, c => c.Params.Any(p => p[1].Contains('\n', StringComparison.Ordinal)) && c.Params.Any(p => p[1].Any(ch => ch > 127)));
        Assert.Contains(cases, c => c.Url.Contains('?', StringComparison.Ordinal));
        Assert.Contains(cases, c => c.Url.Contains(":443/", StringComparison.Ordinal));
        Assert.Contains(cases, c => c.Url.StartsWith("https://", StringComparison.Ordinal) && !HasPort(c.Url));
        Assert.Contains(cases, c => c.Url.Contains(":80/", StringComparison.Ordinal));
    }

    private static SigningCase NewCase(Random random)
    {
        var scheme = random.Next(2) == 0 ? "https" : "http";
        var port = random.Next(5) switch
        {
            0 => ":443",
            1 => ":80",
            2 => ":" + random.Next(1024, 65536),
            _ => string.Empty,
        };
        var host = Pick(random, Hosts);
        var path = string.Concat(Enumerable.Range(0, random.Next(1, 4)).Select(_ => "/" + PathSegment(random)));
        var query = random.Next(3) == 0
            ? string.Empty
            : "?" + string.Join('&', Enumerable.Range(0, random.Next(1, 4)).Select(_ => $"{Uri.EscapeDataString(Pick(random, Names))}={QueryValue(random)}"));
        var url = $"{scheme}://{host}{port}{path}{query}";
        var otherPortUrl = port.Length > 0 ? $"{scheme}://{host}{path}{query}" : $"{scheme}://{host}:{(scheme == "https" ? 443 : 80)}{path}{query}";
        List<Signing> signings =
        [
            new("genuine", url),
            new("other-port-form", otherPortUrl),
            new("wrong-token", url, Token: OtherToken),
            new("other-path", $"{scheme}://{host}{port}{path}x{query}"),
            new("other-port", $"{scheme}://{host}:8443{path}{query}"),
            new("other-host", $"{scheme}://attacker.example{port}{path}{query}"),
        ];

        if (random.Next(8) == 0)
        {
            var body = JsonSerializer.Serialize(new { text = RandomText(random), n = random.Next() });
            var withHash = (string u) => u + (query.Length == 0 ? "?" : "&") + "bodySHA256=" + TwilioRequestSigner.BodyHash(body);
            url = withHash(url);
            signings = [.. signings.Select(s => s with { Url = withHash(s.Url) }), new("shuffled", url), new("tampered-body", url, Body: body + " ")];
            return new SigningCase(url, [], body, signings);
        }

        var parameters = new List<string[]>();
        for (var i = random.Next(1, 9); i > 0; i--)
        {
            var name = Pick(random, Names);
            var value = random.Next(6) == 0 ? string.Empty : RandomText(random);
            parameters.Add([name, value]);
            if (random.Next(4) == 0)
            {
                // Repeat the name (sometimes with the very same value), or add it again in another case.
                var again = random.Next(2) == 0 ? name : SwapCase(name);
                parameters.Add([again, random.Next(3) == 0 ? value : RandomText(random)]);
            }
        }

        var first = parameters[0];
        signings.Add(new("shuffled", url, [.. parameters.OrderBy(_ => random.Next())]));
        signings.Add(new("tampered-value", url, [[first[0], first[1] + "!"], .. parameters.Skip(1)]));
        signings.Add(new("extra-field", url, [.. parameters, ["Extra", "1"]]));
        if (SwapCase(first[0]) != first[0])
        {
            signings.Add(new("name-case", url, [[SwapCase(first[0]), first[1]], .. parameters.Skip(1)]));
        }

        return new SigningCase(url, parameters, null, signings);
    }

    private static string SwapCase(string name) =>
        name.Length == 0 ? name : (char.IsUpper(name[0]) ? char.ToLowerInvariant(name[0]) : char.ToUpperInvariant(name[0])) + name[1..];

    private static bool HasPort(string url)
    {
        var authority = url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..].Split('/', '?')[0];
        return authority.LastIndexOf(':') > authority.LastIndexOf(']');
    }

    private static IEnumerable<KeyValuePair<string, string>> Pairs(IEnumerable<string[]> parameters) =>
        parameters.Select(p => new KeyValuePair<string, string>(p[0], p[1]));

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

    private sealed record Signing(
        [property: JsonIgnore] string Kind,
        [property: JsonPropertyName("url")] string Url,
        [property: JsonPropertyName("params")] IReadOnlyList<string[]>? Params = null,
        [property: JsonPropertyName("token")] string? Token = null,
        [property: JsonPropertyName("body")] string? Body = null);

    private sealed record SigningCase(
        [property: JsonPropertyName("url")] string Url,
        [property: JsonPropertyName("params")] IReadOnlyList<string[]> Params,
        [property: JsonPropertyName("body")] string? Body,
        [property: JsonPropertyName("signings")] IReadOnlyList<Signing> Signings);

    private sealed record NodeInput(
        [property: JsonPropertyName("authToken")] string AuthToken,
        [property: JsonPropertyName("cases")] IReadOnlyList<SigningCase> Cases);

    private sealed record NodeOutput(
        [property: JsonPropertyName("twilioVersion")] string TwilioVersion,
        [property: JsonPropertyName("results")] IReadOnlyList<NodeResult> Results);

    private sealed record NodeResult(
        [property: JsonPropertyName("signatures")] IReadOnlyList<string> Signatures,
        [property: JsonPropertyName("valid")] IReadOnlyList<bool> Valid);
}
