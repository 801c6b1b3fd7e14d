namespace AgentLocator.Data.Calls;

/// <summary>Smoke-suite calls carry this CallSid prefix and never count as real leads.</summary>
public static class TestTraffic
{
    public const string CallSidPrefix = "CAsmoke";

    public static bool IsTestCall(string callSid) => callSid.StartsWith(CallSidPrefix, StringComparison.Ordinal);
}
