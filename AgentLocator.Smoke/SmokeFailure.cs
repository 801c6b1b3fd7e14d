namespace AgentLocator.Smoke;

/// <summary>A check found the deployment wrong; the message says what was expected and what came back.</summary>
public sealed class SmokeFailure(string message) : Exception(message);
