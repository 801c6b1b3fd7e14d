using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace AgentLocator.Web.Api;

/// <summary>
/// The Api's CRM (<c>/api</c>) as the web app uses it, through service discovery with the web app's API key. Every read
/// and write for a business passes its id, so the Api answers not-found for anything of another business.
/// </summary>
public sealed partial class AgentLocatorApi(HttpClient http, ILogger<AgentLocatorApi> logger)
{
    public Task<ApiResult<ApiPage<BusinessDto>>> ListBusinessesAsync(CancellationToken cancellationToken) =>
        SendAsync<ApiPage<BusinessDto>>(HttpMethod.Get, "api/businesses?limit=200", null, cancellationToken);

    public Task<ApiResult<BusinessDto>> GetBusinessAsync(Guid businessId, CancellationToken cancellationToken) =>
        SendAsync<BusinessDto>(HttpMethod.Get, $"api/businesses/{businessId}", null, cancellationToken);

    public Task<ApiResult<BusinessDto>> CreateBusinessAsync(BusinessRequestDto request, CancellationToken cancellationToken) =>
        SendAsync<BusinessDto>(HttpMethod.Post, "api/businesses", request, cancellationToken);

    public Task<ApiResult<BusinessDto>> UpdateBusinessAsync(Guid businessId, BusinessRequestDto request, CancellationToken cancellationToken) =>
        SendAsync<BusinessDto>(HttpMethod.Put, $"api/businesses/{businessId}", request, cancellationToken);

    public Task<ApiResult<ApiPage<CallDto>>> ListLeadsAsync(Guid businessId, LeadFilter filter, string? cursor, CancellationToken cancellationToken)
    {
        var query = new List<string> { $"businessId={businessId}", "newestFirst=true", "limit=50" };
        if (filter.Status is { Length: > 0 } status)
        {
            query.Add("leadStatus=" + Uri.EscapeDataString(status));
        }
        if (filter.Source is { Length: > 0 } source)
        {
            query.Add("source=" + Uri.EscapeDataString(source));
        }
        if (filter.From is { } from)
        {
            query.Add("from=" + Uri.EscapeDataString(from.ToString("O", CultureInfo.InvariantCulture)));
        }
        if (filter.To is { } to)
        {
            query.Add("to=" + Uri.EscapeDataString(to.ToString("O", CultureInfo.InvariantCulture)));
        }
        if (cursor is { Length: > 0 })
        {
            query.Add("cursor=" + Uri.EscapeDataString(cursor));
        }
        return SendAsync<ApiPage<CallDto>>(HttpMethod.Get, "api/calls?" + string.Join('&', query), null, cancellationToken);
    }

    /// <summary>The business's calls still going on (the Api's call rows: not ended, begun in the last two hours).</summary>
    public Task<ApiResult<ApiPage<CallDto>>> ListCallsInProgressAsync(Guid businessId, CancellationToken cancellationToken) =>
        SendAsync<ApiPage<CallDto>>(HttpMethod.Get, $"api/calls?businessId={businessId}&inProgress=true&limit=100", null, cancellationToken);

    public Task<ApiResult<CallDto>> GetCallAsync(Guid businessId, Guid callId, CancellationToken cancellationToken) =>
        SendAsync<CallDto>(HttpMethod.Get, $"api/calls/{callId}?businessId={businessId}", null, cancellationToken);

    public Task<ApiResult<CallDto>> UpdateLeadAsync(Guid businessId, Guid callId, LeadUpdateDto update, CancellationToken cancellationToken) =>
        SendAsync<CallDto>(HttpMethod.Patch, $"api/calls/{callId}/lead?businessId={businessId}", update, cancellationToken);

    public Task<ApiResult<ApiPage<CustomerDto>>> SearchCustomersAsync(Guid businessId, string? text, CancellationToken cancellationToken) =>
        SendAsync<ApiPage<CustomerDto>>(HttpMethod.Get,
            $"api/businesses/{businessId}/customers?limit=100" + (string.IsNullOrWhiteSpace(text) ? "" : "&q=" + Uri.EscapeDataString(text.Trim())),
            null, cancellationToken);

    public Task<ApiResult<CustomerDto>> GetCustomerAsync(Guid businessId, Guid customerId, CancellationToken cancellationToken) =>
        SendAsync<CustomerDto>(HttpMethod.Get, $"api/customers/{customerId}?businessId={businessId}", null, cancellationToken);

    public Task<ApiResult<CustomerDto>> UpdateCustomerAsync(Guid businessId, Guid customerId, CustomerRequestDto request, CancellationToken cancellationToken) =>
        SendAsync<CustomerDto>(HttpMethod.Put, $"api/customers/{customerId}?businessId={businessId}", request, cancellationToken);

    public Task<ApiResult<ApiPage<MessageDto>>> GetMessagesAsync(Guid businessId, Guid customerId, CancellationToken cancellationToken) =>
        SendAsync<ApiPage<MessageDto>>(HttpMethod.Get, $"api/customers/{customerId}/messages?businessId={businessId}&limit=200", null, cancellationToken);

    public Task<ApiResult<JsonElement>> SendWhatsAppAsync(SendWhatsAppDto message, CancellationToken cancellationToken) =>
        SendAsync<JsonElement>(HttpMethod.Post, "api/whatsapp/send", message, cancellationToken);

    /// <summary>Stored audio behind one of the Api's signed links, streamed through (the caller disposes the response).</summary>
    public Task<HttpResponseMessage> GetMediaAsync(string pathAndQuery, string? range, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery.TrimStart('/'));
        if (range is { Length: > 0 })
        {
            request.Headers.TryAddWithoutValidation("Range", range);
        }
        return http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }

    private async Task<ApiResult<T>> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType());
        }
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return new ApiResult<T>(await response.Content.ReadFromJsonAsync<T>(cancellationToken), null);
            }
            var problem = await ApiProblems.ReadAsync(response, cancellationToken);
            LogRefused(logger, method.Method, path.Split('?')[0], problem.Status, problem.Title);
            return new ApiResult<T>(default, problem);
        }
        // Down, refused, timed out (the resilience handler's own timeouts and open circuit included) or answering garbage:
        // the page says so in Hebrew and keeps what the owner typed.
        catch (Exception ex) when (ex is HttpRequestException or JsonException or Polly.ExecutionRejectedException
                                   || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogUnreachable(logger, method.Method, path.Split('?')[0], ex.Message);
            return new ApiResult<T>(default, ApiProblems.Unreachable);
        }
    }

    [LoggerMessage(EventId = 7101, EventName = "WEB_API_REFUSED", Level = LogLevel.Information,
        Message = "WEB_API_REFUSED {Method} {Path}: {Status} {Title}")]
    private static partial void LogRefused(ILogger logger, string method, string path, int status, string title);

    [LoggerMessage(EventId = 7102, EventName = "WEB_API_UNREACHABLE", Level = LogLevel.Warning,
        Message = "WEB_API_UNREACHABLE {Method} {Path}: {Error}")]
    private static partial void LogUnreachable(ILogger logger, string method, string path, string error);
}

/// <summary>What the leads list is filtered by.</summary>
public sealed record LeadFilter(string? Status, string? Source, DateTimeOffset? From, DateTimeOffset? To);
