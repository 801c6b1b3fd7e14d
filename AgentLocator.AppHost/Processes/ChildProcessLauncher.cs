using System.Collections.Concurrent;
using System.Diagnostics;

namespace AgentLocator.AppHost.Processes;

/// <summary>
/// Starts every child process from one dedicated thread that lives as long as the AppHost.
/// Linux delivers PR_SET_PDEATHSIG when the <em>thread</em> that forked the child exits, so forking from a
/// thread-pool thread (which the pool retires when idle) would kill children at random; this thread never exits.
/// </summary>
internal static class ChildProcessLauncher
{
    private static readonly BlockingCollection<Action> Work = [];

    static ChildProcessLauncher()
    {
        var thread = new Thread(() =>
        {
            foreach (var action in Work.GetConsumingEnumerable())
            {
                action();
            }
        })
        {
            IsBackground = true,
            Name = "AgentLocator child process launcher",
        };
        thread.Start();
    }

    public static Task<Process> StartAsync(Process process)
    {
        var started = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        Work.Add(() =>
        {
            try
            {
                process.Start();
                // Read at once: a quick tool (postgres --version) may exit before the caller gets the process back.
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
                started.SetResult(process);
            }
            catch (Exception exception)
            {
                started.SetException(exception);
            }
        });
        return started.Task;
    }
}
