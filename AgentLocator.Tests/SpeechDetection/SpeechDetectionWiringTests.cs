using AgentLocator.MediaWorker.SpeechDetection;
using AgentLocator.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentLocator.Tests.SpeechDetection;

/// <summary>Which detector the MediaWorker runs: Silero when the model file is there, the energy detector otherwise, said once at start.</summary>
public sealed class SpeechDetectionWiringTests
{
    [Fact]
    public async Task WithTheModelBesideTheWorkerSileroRunsAndStartSaysSo()
    {
        var (detectors, logs) = await StartAsync(modelPath: null);

        var silero = Assert.IsType<SileroSpeechDetectorFactory>(detectors);
        Assert.Equal(new SpeechDetectionOptions().ModelPath, silero.Model.Path);
        Assert.Single(logs.Lines, l => l.Contains("[SPEECH_DETECTOR] SPEECH_DETECTOR silero model=", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, l => l.Contains("SPEECH_DETECTOR_FALLBACK", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WithoutTheModelTheEnergyDetectorRunsAndStartWarnsWithThePath()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"no-such-dir-{Guid.NewGuid():N}", "silero_vad_v5.onnx");
        var (detectors, logs) = await StartAsync(missing);

        Assert.IsType<EnergySpeechDetectorFactory>(detectors);
        var line = Assert.Single(logs.Lines, l => l.Contains("[SPEECH_DETECTOR_FALLBACK]", StringComparison.Ordinal));
        Assert.StartsWith("Warning", line, StringComparison.Ordinal);
        Assert.Contains($"SPEECH_DETECTOR energy: no Silero model at {missing}", line, StringComparison.Ordinal);
    }

    private static async Task<(ISpeechDetectorFactory Detectors, CapturedLogs Logs)> StartAsync(string? modelPath)
    {
        var builder = Host.CreateApplicationBuilder();
        if (modelPath is not null)
        {
            builder.Configuration["SpeechDetection:ModelPath"] = modelPath;
        }

        var logs = new CapturedLogs();
        builder.Logging.ClearProviders().AddProvider(logs);
        builder.AddSpeechDetection();
        using var host = builder.Build();
        await host.StartAsync();
        var detectors = host.Services.GetRequiredService<ISpeechDetectorFactory>();
        await host.StopAsync();
        return (detectors, logs);
    }
}
