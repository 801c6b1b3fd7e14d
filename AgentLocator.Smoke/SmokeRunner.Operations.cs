using System.Net;
using System.Text.Json;

namespace AgentLocator.Smoke;

public sealed partial class SmokeRunner
{
    private async Task CheckOperationsAsync(CancellationToken cancellationToken)
    {
        await CheckAsync("health", async ct =>
        {
            var reply = (await GetAsync(ApiUrl("/health"), ct)).Expect(HttpStatusCode.OK);
            using var json = reply.Json();
            if (!json.RootElement.TryGetProperty("ok", out var ok) || ok.ValueKind != JsonValueKind.True)
            {
                throw new SmokeFailure($"200 but not {{\"ok\":true}}: {reply.Snippet()}");
            }
            return $"200 {{\"ok\":true}} in {reply.Ms} ms";
        }, cancellationToken);

        await CheckAsync("readyz", async ct =>
        {
            var reply = await GetAsync(ApiUrl("/readyz"), ct);
            var failing = "";
            if (reply.MediaType is "application/json")
            {
                using var json = reply.Json();
                if (json.RootElement.TryGetProperty("build", out var build) && build.TryGetProperty("environment", out var environment))
                {
                    _environment = environment.GetString();
                }
                if (json.RootElement.TryGetProperty("failing", out var names) && names.ValueKind == JsonValueKind.Array)
                {
                    failing = string.Join(", ", names.EnumerateArray().Select(n => n.GetString()));
                }
            }
            if (reply.Status != HttpStatusCode.OK)
            {
                throw new SmokeFailure($"{reply.Code}" + (failing.Length > 0 ? $": failing {failing}" : $": {reply.Snippet()}"));
            }
            return $"200, environment {_environment ?? "not reported"}";
        }, cancellationToken);

        await CheckAsync("root", async ct =>
        {
            var reply = await GetAsync(ApiUrl("/"), ct);
            if (reply.Code >= 500)
            {
                throw new SmokeFailure($"GET / answered {reply.Code}: {reply.Snippet()}");
            }
            return $"{reply.Code} (not 5xx)";
        }, cancellationToken);

        await CheckAsync("version.api", ct => CheckVersionAsync(ApiUrl("/version"), "api", ct), cancellationToken);
    }

    /// <summary>
    /// The MediaWorker's <c>/version</c>: at <c>--mediaworker-url</c>, else at the host of the media WebSocket when that
    /// is not the Api's host (behind an ingress that routes only <c>/ws/*</c> to the MediaWorker, <c>/version</c> there is the Api's).
    /// </summary>
    private async Task CheckMediaWorkerVersionAsync(CancellationToken cancellationToken)
    {
        var url = _options.MediaWorkerUrl;
        if (url is null && MediaSocketUrl() is { } media && !string.Equals(media.Authority, _options.BaseUrl.Authority, StringComparison.OrdinalIgnoreCase))
        {
            url = new UriBuilder(media) { Scheme = media.Scheme == "wss" ? "https" : "http", Path = "/", Query = "" }.Uri;
        }
        if (url is null)
        {
            Skip("version.mediaworker", "the MediaWorker's HTTP address is unknown (its WebSocket shares the Api's host): give --mediaworker-url");
            return;
        }
        await CheckAsync("version.mediaworker", ct => CheckVersionAsync(url.ToString().TrimEnd('/') + "/version", "mediaworker", ct), cancellationToken);
    }

    /// <summary>200 with the build this service runs; a commit or deploy id other than the expected one means a stale deploy answers.</summary>
    private async Task<string> CheckVersionAsync(string url, string service, CancellationToken cancellationToken)
    {
        var reply = (await GetAsync(url, cancellationToken)).Expect(HttpStatusCode.OK);
        using var json = reply.Json();
        string? Field(string name) => json.RootElement.TryGetProperty(name, out var value) ? value.ToString() : null;
        var reported = Field("service");
        var commit = Field("commit");
        var deployId = Field("deploy_id");
        var problems = new List<string>();
        if (reported != service)
        {
            problems.Add($"service is '{reported}', not '{service}' (is {url} routed to the {service}?)");
        }
        if (_options.ExpectCommit is { } expectedCommit && !CommitMatches(commit, expectedCommit))
        {
            problems.Add($"commit {commit}, expected {expectedCommit}: a stale deploy is answering");
        }
        if (_options.ExpectDeployId is { } expectedDeploy && deployId != expectedDeploy)
        {
            problems.Add($"deploy id {deployId}, expected {expectedDeploy}: a stale deploy is answering");
        }
        if (problems.Count > 0)
        {
            throw new SmokeFailure(string.Join("; ", problems));
        }
        var verified = (_options.ExpectCommit, _options.ExpectDeployId) switch
        {
            (null, null) => " (no --expect-commit/--expect-deploy-id given: not compared)",
            _ => " (as expected)",
        };
        return $"{service} commit {commit}, deploy {deployId}{verified}";
    }

    /// <summary>The full sha, or an abbreviation of at least 7 characters (what <c>git log --oneline</c> prints).</summary>
    private static bool CommitMatches(string? commit, string expected) =>
        commit is not null && (commit == expected
            || (expected.Length >= 7 && commit.StartsWith(expected, StringComparison.OrdinalIgnoreCase) && !commit.EndsWith("-dirty", StringComparison.Ordinal)));
}
