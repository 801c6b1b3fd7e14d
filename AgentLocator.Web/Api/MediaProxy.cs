using Microsoft.AspNetCore.Http.HttpResults;

namespace AgentLocator.Web.Api;

/// <summary>
/// The recordings and utterances a call page plays: the Api's signed links (<c>/media/{kind}/{id}?exp=&amp;sig=</c>) streamed
/// through the web app to a signed-in user, so the Api need not be reachable from the owner's phone.
/// </summary>
public static class MediaProxy
{
    private static readonly string[] PassedHeaders = ["Content-Range", "Accept-Ranges", "Cache-Control"];

    public static IEndpointRouteBuilder MapMediaProxy(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/media/{kind:regex(^(recordings|utterances)$)}/{id:guid}", ProxyAsync).RequireAuthorization();
        return endpoints;
    }

    private static async Task<Results<EmptyHttpResult, ProblemHttpResult>> ProxyAsync(
        string kind, Guid id, string? exp, string? sig, HttpContext context, AgentLocatorApi api, CancellationToken cancellationToken)
    {
        var path = $"media/{kind}/{id}?exp={Uri.EscapeDataString(exp ?? "")}&sig={Uri.EscapeDataString(sig ?? "")}";
        HttpResponseMessage upstream;
        try
        {
            upstream = await api.GetMediaAsync(path, context.Request.Headers.Range.ToString(), cancellationToken);
        }
        catch (HttpRequestException)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status502BadGateway, title: "ההקלטה אינה זמינה כרגע.");
        }
        using (upstream)
        {
            context.Response.StatusCode = (int)upstream.StatusCode;
            foreach (var header in PassedHeaders)
            {
                if (upstream.Headers.TryGetValues(header, out var values) || upstream.Content.Headers.TryGetValues(header, out values))
                {
                    context.Response.Headers[header] = values.ToArray();
                }
            }
            context.Response.ContentType = upstream.Content.Headers.ContentType?.ToString() ?? "application/octet-stream";
            context.Response.ContentLength = upstream.Content.Headers.ContentLength;
            await upstream.Content.CopyToAsync(context.Response.Body, cancellationToken);
        }
        return TypedResults.Empty;
    }
}
