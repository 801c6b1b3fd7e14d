namespace AgentLocator.Api.Webhooks;

/// <summary>
/// Admits a voice webhook to its database work through <see cref="WebhookAdmission"/>, or marks it shed and lets its
/// handler answer the degraded way. Runs inside <see cref="TwilioWebhookFilter"/>: only signed requests with a form reach
/// it, a retry already answered is replayed without it (except <c>incoming_call</c>'s, which its handler tells by the call's
/// row and so are admitted), and a shed answer is remembered for Twilio's retries like any other.
/// </summary>
public sealed class WebhookAdmissionFilter(WebhookAdmission admission) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        using var lease = await admission.EnterAsync(http, WebhookName(http.Request.Path), http.RequestAborted);
        return await next(context);
    }

    /// <summary><c>incoming_call</c> for <c>/webhook/incoming_call</c>: the metric's tag and the log's field.</summary>
    private static string WebhookName(PathString path)
    {
        var value = path.Value ?? "";
        return value[(value.LastIndexOf('/') + 1)..];
    }
}
