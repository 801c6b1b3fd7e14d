using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace AgentLocator.MediaWorker.SpeechDetection;

public static class SpeechDetectionExtensions
{
    /// <summary>
    /// The caller's speech detector: Silero VAD when its model file is present (<c>SpeechDetection:ModelPath</c>),
    /// the energy detector otherwise. Chosen and loaded at start, with one <c>SPEECH_DETECTOR</c> log line
    /// saying which runs; a model file that is present but broken fails the start. Register another
    /// <see cref="ISpeechDetectorFactory"/> first to replace both.
    /// </summary>
    public static IHostApplicationBuilder AddSpeechDetection(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<SpeechDetectionOptions>().BindConfiguration(SpeechDetectionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton<ISpeechDetectorFactory>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<SpeechDetectionOptions>>().Value;
            return File.Exists(options.ModelPath)
                ? new SileroSpeechDetectorFactory(SileroVadModel.Load(options.ModelPath), options)
                : new EnergySpeechDetectorFactory();
        });
        services.AddHostedService<SpeechDetectorStartup>();
        return builder;
    }

    /// <summary>Loads the detector (the model) at start rather than on the first call, and logs which one runs.</summary>
    private sealed class SpeechDetectorStartup(ISpeechDetectorFactory detectors, IOptions<SpeechDetectionOptions> options, ILogger<SpeechDetectorStartup> logger)
        : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            switch (detectors)
            {
                case SileroSpeechDetectorFactory silero:
                    SpeechDetectionLog.Detector(logger, silero.Name, silero.Model.Path);
                    break;
                case EnergySpeechDetectorFactory energy:
                    SpeechDetectionLog.EnergyFallback(logger, energy.Name, options.Value.ModelPath);
                    break;
                default:
                    SpeechDetectionLog.Detector(logger, detectors.Name, "-");
                    break;
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

internal static partial class SpeechDetectionLog
{
    [LoggerMessage(EventId = 4230, EventName = "SPEECH_DETECTOR", Level = LogLevel.Information,
        Message = "SPEECH_DETECTOR {Detector} model={ModelPath}")]
    public static partial void Detector(ILogger logger, string detector, string modelPath);

    [LoggerMessage(EventId = 4231, EventName = "SPEECH_DETECTOR_FALLBACK", Level = LogLevel.Warning,
        Message = "SPEECH_DETECTOR {Detector}: no Silero model at {ModelPath}; the energy detector runs (weaker in noise)")]
    public static partial void EnergyFallback(ILogger logger, string detector, string modelPath);
}
