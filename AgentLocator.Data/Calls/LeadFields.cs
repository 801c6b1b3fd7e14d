namespace AgentLocator.Data.Calls;

/// <summary>
/// What the receptionist learned about the caller. A null field is "not said (yet)": saving keeps what
/// an earlier save of the same call recorded for it.
/// </summary>
public sealed record LeadFields(string? Name, string? Reason, string? CallbackTime, string? Notes)
{
    public static LeadFields Empty { get; } = new(null, null, null, null);

    /// <summary>These fields, with <paramref name="newer"/>'s where it has one.</summary>
    public LeadFields With(LeadFields newer) =>
        new(newer.Name ?? Name, newer.Reason ?? Reason, newer.CallbackTime ?? CallbackTime, newer.Notes ?? Notes);
}
