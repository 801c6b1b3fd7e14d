namespace Projects;

/// <summary>
/// Marks the AppHost assembly for <c>DistributedApplicationTestingBuilder.CreateAsync&lt;Projects.AgentLocator_AppHost&gt;()</c>,
/// the name Aspire's project metadata would give it.
/// </summary>
public sealed class AgentLocator_AppHost;
