namespace AgentLocator.AppHost;

/// <summary>The owners' web app: its own CRM key, accepted by the Api and sent by the web app.</summary>
public static class WebAppExtensions
{
    public const string ApiKeyParameter = "web-api-key";

    /// <summary>Where the Api's keys list the web app's (after any a deployment gives as <c>Crm__ApiKeys__0</c>, …).</summary>
    public const string ApiKeyVariable = "Crm__ApiKeys__100";

    /// <summary>The Api accepts the web app's key (<see cref="ApiKeyVariable"/>).</summary>
    public static IResourceBuilder<ProjectResource> WithWebAppKey(this IResourceBuilder<ProjectResource> api, AppHostSettings settings) =>
        api.WithEnvironment(context => context.EnvironmentVariables[ApiKeyVariable] = Key(api.ApplicationBuilder, settings));

    /// <summary>The web app sends its key (<c>Web__ApiKey</c>) to the Api.</summary>
    public static IResourceBuilder<ProjectResource> WithApiKeyForWebApp(this IResourceBuilder<ProjectResource> web, AppHostSettings settings) =>
        web.WithEnvironment(context => context.EnvironmentVariables["Web__ApiKey"] = Key(web.ApplicationBuilder, settings));

    /// <summary>
    /// <c>Web__ApiKey</c> from the AppHost's environment, else a key generated once and kept with the data; a manifest asks the
    /// deployment for it (parameter <c>web-api-key</c>).
    /// </summary>
    private static object Key(IDistributedApplicationBuilder builder, AppHostSettings settings)
    {
        if (builder.ExecutionContext.IsPublishMode)
        {
            return builder.Resources.OfType<ParameterResource>().FirstOrDefault(p => p.Name == ApiKeyParameter)
                ?? throw new DistributedApplicationException($"The {ApiKeyParameter} parameter was not declared.");
        }
        return Environment.GetEnvironmentVariable("Web__ApiKey")
            ?? SecretFile.ReadOrCreate(Path.Combine(settings.DataDirectory, "web-api-key.secret"), bytes: 32);
    }

    /// <summary>Declares the <c>web-api-key</c> parameter a manifest asks the deployment for.</summary>
    public static IDistributedApplicationBuilder AddWebAppKeyParameter(this IDistributedApplicationBuilder builder)
    {
        if (builder.ExecutionContext.IsPublishMode)
        {
            builder.AddParameter(ApiKeyParameter, secret: true);
        }
        return builder;
    }
}
