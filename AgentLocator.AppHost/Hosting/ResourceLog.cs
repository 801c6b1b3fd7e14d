using System.Collections.Concurrent;

namespace AgentLocator.AppHost.Hosting;

/// <summary>One line of a resource's output (or of the AppHost itself, under the name <c>apphost</c>).</summary>
public sealed record ResourceLogLine(DateTimeOffset Timestamp, string Resource, string Text, bool IsError);

/// <summary>
/// Collects every resource's output. The console shows each line prefixed with its resource's name;
/// tests turn the console off and read <see cref="Lines"/>.
/// </summary>
public sealed class ResourceLog
{
    private static readonly ConsoleColor[] Palette =
        [ConsoleColor.Cyan, ConsoleColor.Magenta, ConsoleColor.Yellow, ConsoleColor.Green, ConsoleColor.Blue, ConsoleColor.DarkCyan];

    private readonly ConcurrentQueue<ResourceLogLine> _lines = new();
    private readonly ConcurrentDictionary<string, ConsoleColor> _colors = new(StringComparer.Ordinal);
    private readonly Lock _consoleLock = new();

    public const string AppHostName = "apphost";

    /// <summary>Whether lines go to the console (on by default).</summary>
    public bool WriteToConsole { get; set; } = true;

    /// <summary>How many lines are kept in memory.</summary>
    public int Capacity { get; set; } = 20_000;

    public IReadOnlyCollection<ResourceLogLine> Lines => _lines.ToArray();

    public event Action<ResourceLogLine>? LineWritten;

    public void Write(string resource, string text, bool isError = false)
    {
        var line = new ResourceLogLine(DateTimeOffset.UtcNow, resource, text, isError);
        _lines.Enqueue(line);
        while (_lines.Count > Capacity && _lines.TryDequeue(out _))
        {
        }

        LineWritten?.Invoke(line);
        if (WriteToConsole)
        {
            WriteConsole(line);
        }
    }

    public string Dump(string? resource = null) =>
        string.Join('\n', Lines.Where(l => resource is null || l.Resource == resource).Select(l => $"[{l.Resource}] {l.Text}"));

    private void WriteConsole(ResourceLogLine line)
    {
        var color = line.Resource == AppHostName
            ? ConsoleColor.White
            : _colors.GetOrAdd(line.Resource, _ => Palette[_colors.Count % Palette.Length]);
        lock (_consoleLock)
        {
            if (Console.IsOutputRedirected)
            {
                Console.Out.WriteLine($"[{line.Resource}] {line.Text}");
                return;
            }

            Console.ForegroundColor = color;
            Console.Out.Write($"[{line.Resource}] ");
            Console.ResetColor();
            Console.Out.WriteLine(line.Text);
        }
    }
}
