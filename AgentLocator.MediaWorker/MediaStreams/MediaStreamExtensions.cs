using AgentLocator.Media;
using AgentLocator.MediaWorker.Conversation;
using AgentLocator.MediaWorker.SpeechDetection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AgentLocator.MediaWorker.MediaStreams;

public static class MediaStreamExtensions
{
    /// <summary>
    /// The live call pipeline: <c>MediaStream:*</c> options, the Hebrew prompts (<c>Prompts:Directory</c>,
    /// default <c>tts/</c> beside the executable), the caller's speech detector
    /// (<see cref="SpeechDetectionExtensions.AddSpeechDetection"/>) and the default intake conversation engine
    /// (replace <see cref="IConversationEngineFactory"/> to plug in another).
    /// </summary>
    public static IHostApplicationBuilder AddMediaStreams(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<MediaStreamOptions>().BindConfiguration(MediaStreamOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<PromptLibraryOptions>().BindConfiguration(PromptLibraryOptions.SectionName).Configure(options =>
        {
            if (string.IsNullOrEmpty(builder.Configuration[PromptLibraryOptions.SectionName + ":Directory"]))
            {
                options.Directory = Path.Combine(AppContext.BaseDirectory, "tts");
            }
        });
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<PromptLibraryOptions>>().Value;
            var library = PromptLibrary.Load(options);
            var missing = PromptKeys.All.Where(k => !library.TryGet(k, out _) && k is not PromptKeys.Greeting and not PromptKeys.Fallback and not PromptKeys.NotInService).ToList();
            return missing.Count == 0
                ? library
                : throw new InvalidOperationException($"Prompts missing in '{options.Directory}': {string.Join(", ", missing)} (set {PromptLibraryOptions.SectionName}:Directory).");
        });
        services.TryAddSingleton(TimeProvider.System);
        builder.AddSpeechDetection();
        services.AddSingleton<MediaStreamStats>();
        services.AddSingleton<PlayoutClock>();
        services.AddMetrics();
        services.AddSingleton<MediaStreamMetrics>();
        services.AddSingleton<CallRecords>();
        services.AddSingleton<UtteranceStore>();
        services.TryAddSingleton<IConversationEngineFactory, IntakeConversationEngineFactory>();
        services.AddSingleton<MediaStreamHandler>();
        return builder;
    }
}
