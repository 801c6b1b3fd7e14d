namespace AgentLocator.Tests.Infrastructure;

/// <summary>
/// Tests that load the machine on purpose (dozens of calls at once) run alone, after the parallel tests:
/// on a 2-core machine fifty calls starting together stall the 1x real-time calls running beside them
/// (a full suite saw three real-time turns answered 860–980 ms after the caller stopped, bound 850 ms,
/// while the simulator's own line ran 190–206 ms late), so the real-time tests would measure the load test.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MachineLoadCollection
{
    public const string Name = "MachineLoad";
}
