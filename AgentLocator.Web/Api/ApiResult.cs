namespace AgentLocator.Web.Api;

/// <summary>The Api's answer: a value, or the problem it reported (already worded for the owner).</summary>
public readonly record struct ApiResult<T>(T? Value, ApiProblem? Problem)
{
    public bool Ok => Problem is null;

    public bool NotFound => Problem?.Status == StatusCodes.Status404NotFound;
}
