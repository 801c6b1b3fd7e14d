namespace AgentLocator.Web.Components.Shared;

/// <summary>One option of a <c>FluentSelect</c>: the value the Api takes and the Hebrew text the owner reads.</summary>
public sealed record Choice(string Value, string Text);
