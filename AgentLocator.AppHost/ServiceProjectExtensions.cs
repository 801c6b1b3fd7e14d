
namespace AgentLocator.AppHost;

/// <summary>What every AgentLocator service (Api, MediaWorker) is given besides its references.</summary>
public static class ServiceProjectExtensions
{
    /// <summary>
    /// The environment name, build metadata, Twilio's public addresses, the storage and token secret both services share,
    /// and <c>AppHost:Resources:&lt;name&gt;:Env:*</c>.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithServiceEnvironment(
        this IResourceBuilder<ProjectResource> builder, AppHostSettings settings, BuildMetadata build) =>
        builder
            .WithEnvironment("ASPNETCORE_ENVIRONMENT", settings.Environment)
            .WithEnvironment("DOTNET_ENVIRONMENT", settings.Environment)
            .WithBuildMetadata(build, settings.Environment)
            .WithPublicAddresses(settings)
            .WithSharedState(settings)
            .WithConfiguredEnvironment();

    /// <summary>The web app: the environment name, build metadata and <c>AppHost:Resources:web:Env:*</c> (no Twilio addresses or audio storage).</summary>
    public static IResourceBuilder<ProjectResource> WithWebEnvironment(
        this IResourceBuilder<ProjectResource> builder, AppHostSettings settings, BuildMetadata build) =>
        builder
            .WithEnvironment("ASPNETCORE_ENVIRONMENT", settings.Environment)
            .WithEnvironment("DOTNET_ENVIRONMENT", settings.Environment)
            .WithBuildMetadata(build, settings.Environment)
            .WithConfiguredEnvironment();

    /// <summary>
    /// <c>GIT_COMMIT</c>, <c>BUILD_TIME</c>, <c>DEPLOY_ID</c> (what /version reports), and <c>service.version</c> and
    /// <c>deployment.environment</c> added to the OpenTelemetry resource Aspire describes in <c>OTEL_RESOURCE_ATTRIBUTES</c>.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithBuildMetadata(
        this IResourceBuilder<ProjectResource> builder, BuildMetadata build, string environment) =>
        builder
            .WithEnvironment("GIT_COMMIT", build.Commit)
            .WithEnvironment("BUILD_TIME", build.BuildTime)
            .WithEnvironment("DEPLOY_ID", build.DeployId)
            .WithEnvironment(context =>
            {
                var attributes = $"service.version={build.Commit},deployment.environment={environment.ToLowerInvariant()}";
                // Aspire's OTLP callback (added with the project, so run before this one) set service.instance.id.
                context.EnvironmentVariables["OTEL_RESOURCE_ATTRIBUTES"] =
                    context.EnvironmentVariables.TryGetValue("OTEL_RESOURCE_ATTRIBUTES", out var existing) && existing is string { Length: > 0 } aspire
                        ? $"{aspire},{attributes}"
                        : attributes;
            });

    /// <summary>
    /// <c>PublicBaseUrl</c> (what Twilio calls and signatures are checked against) and <c>MediaStreamUrl</c>. A manifest
    /// asks the deployment for the public address (parameter <c>public-base-url</c>); the services derive the stream's.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithPublicAddresses(this IResourceBuilder<ProjectResource> builder, AppHostSettings settings)
    {
        if (builder.ApplicationBuilder.ExecutionContext.IsPublishMode)
        {
            return builder.WithEnvironment("PublicBaseUrl", SharedParameter(builder.ApplicationBuilder, "public-base-url", secret: false));
        }

        return builder
            .WithEnvironment("PublicBaseUrl", settings.PublicBaseUrl)
            .WithEnvironment("MediaStreamUrl", settings.MediaStreamUrl);
    }

    /// <summary>
    /// Api and MediaWorker share the audio storage and the key of the per-call stream tokens: <c>Storage__Directory</c> and
    /// <c>MediaStream__TokenSecret</c> from the AppHost's environment, else a folder and a generated secret kept with the data.
    /// A manifest asks the deployment for the secret (parameter <c>media-stream-token-secret</c>).
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithSharedState(this IResourceBuilder<ProjectResource> builder, AppHostSettings settings)
    {
        if (builder.ApplicationBuilder.ExecutionContext.IsPublishMode)
        {
            return builder.WithEnvironment(
                "MediaStream__TokenSecret", SharedParameter(builder.ApplicationBuilder, "media-stream-token-secret", secret: true));
        }

        return builder.WithEnvironment(context =>
        {
            context.EnvironmentVariables["Storage__Directory"] =
                Environment.GetEnvironmentVariable("Storage__Directory") ?? Path.Combine(settings.DataDirectory, "storage");
            context.EnvironmentVariables["MediaStream__TokenSecret"] =
                Environment.GetEnvironmentVariable("MediaStream__TokenSecret")
                // Kept with the data, so every run (and every replica) signs stream tokens alike.
                ?? SecretFile.ReadOrCreate(Path.Combine(settings.DataDirectory, "media-stream-token.secret"), bytes: 32);
        });
    }

    /// <summary><c>AppHost:Resources:&lt;name&gt;:Env:&lt;KEY&gt;</c>: settings given to the AppHost for one resource only.</summary>
    public static IResourceBuilder<T> WithConfiguredEnvironment<T>(this IResourceBuilder<T> builder) where T : IResourceWithEnvironment
    {
        var section = builder.ApplicationBuilder.Configuration.GetSection($"AppHost:Resources:{builder.Resource.Name}:Env");
        return builder.WithEnvironment(context =>
        {
            // Nested keys (AppHost__Resources__api__Env__Twilio__AuthToken arrives as Twilio:AuthToken) become Twilio__AuthToken.
            foreach (var (key, value) in section.AsEnumerable(makePathsRelative: true))
            {
                if (value is not null)
                {
                    context.EnvironmentVariables[key.Replace(":", "__", StringComparison.Ordinal)] = value;
                }
            }
        });
    }

    private static IResourceBuilder<ParameterResource> SharedParameter(IDistributedApplicationBuilder builder, string name, bool secret) =>
        builder.Resources.OfType<ParameterResource>().FirstOrDefault(p => p.Name == name) is { } existing
            ? builder.CreateResourceBuilder(existing)
            : builder.AddParameter(name, secret: secret);
}
