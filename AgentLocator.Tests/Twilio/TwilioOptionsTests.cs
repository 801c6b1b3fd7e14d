using AgentLocator.Tests.Infrastructure;
using AgentLocator.Twilio;
using AgentLocator.Twilio.Security;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace AgentLocator.Tests.Twilio;

public sealed class TwilioOptionsTests
{
    [Fact]
    public void MissingSecretsOutsideDevelopmentFailNamingTheConfigurationKeys()
    {
        using var services = Build(Environments.Production, new Dictionary<string, string?>());

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<TwilioOptions>>().Value);

        Assert.Contains("Twilio:AccountSid", error.Message, StringComparison.Ordinal);
        Assert.Contains("Twilio:AuthToken", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingSecretsAreAllowedInDevelopment()
    {
        using var services = Build(Environments.Development, new Dictionary<string, string?>());

        var options = services.GetRequiredService<IOptions<TwilioOptions>>().Value;

        Assert.Equal(TwilioOptions.DefaultApiBaseUrl, options.ApiBaseUrl);
        Assert.Null(options.ValidateSignatures);
    }

    [Fact]
    public void SectionValuesAreBound()
    {
        using var services = Build(Environments.Production, new Dictionary<string, string?>
        {
            ["Twilio:AccountSid"] = FakeTwilioServer.DefaultAccountSid,
            ["Twilio:AuthToken"] = "12345",
            ["Twilio:ApiBaseUrl"] = "http://127.0.0.1:9999/",
            ["Twilio:ValidateSignatures"] = "false",
        });

        var options = services.GetRequiredService<IOptions<TwilioOptions>>().Value;

        Assert.Equal(FakeTwilioServer.DefaultAccountSid, options.AccountSid);
        Assert.Equal("12345", options.AuthToken);
        Assert.Equal(new Uri("http://127.0.0.1:9999/"), options.ApiBaseUrl);
        Assert.False(options.ValidateSignatures);
        Assert.True(services.GetRequiredService<TwilioSignatureValidator>().IsValid(
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            [new("CallSid", "CA1234567890ABCDE"), new("Caller", "+14158675309"), new("Digits", "1234"), new("From", "+14158675309"), new("To", "+18005551212")],
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    }

    [Theory]
    [InlineData("Development", null, false)]
    [InlineData("Production", null, true)]
    [InlineData("Staging", null, true)]
    [InlineData("Development", true, true)]
    [InlineData("Production", false, false)]
    public void SignatureValidationDefaultsToOnOutsideDevelopment(string environment, bool? configured, bool expected)
    {
        var options = new TwilioOptions { ValidateSignatures = configured };
        Assert.Equal(expected, options.ShouldValidateSignatures(new Environment(environment)));
    }

    private static ServiceProvider Build(string environment, Dictionary<string, string?> settings)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IHostEnvironment>(new Environment(environment));
        services.AddTwilio(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        return services.BuildServiceProvider();
    }

    private sealed class Environment(string name) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = name;

        public string ApplicationName { get; set; } = "AgentLocator.Tests";

        public string ContentRootPath { get; set; } = AppContext.BaseDirectory;

        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
