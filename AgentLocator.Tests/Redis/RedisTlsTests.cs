using AgentLocator.AppHost.Processes;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AgentLocator.Redis;
using AgentLocator.Tests.Infrastructure;

namespace AgentLocator.Tests.Redis;

public class RedisTlsTests
{
    private static readonly string Prefix = RedisServerFixture.NewKeyPrefix(nameof(RedisTlsTests));

    [Fact]
    public async Task SslTrueTalksTlsAndChecksTheServerCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var directory = Directory.CreateTempSubdirectory("agentlocator-redis-tls-").FullName;
        var certFile = Path.Combine(directory, "server.crt");
        var keyFile = Path.Combine(directory, "server.key");
        await File.WriteAllTextAsync(certFile, certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(keyFile, key.ExportPkcs8PrivateKeyPem());
        var tlsPort = PortOwners.GetFreePort();

        try
        {
            await using var server = await RedisServer.StartAsync(RedisServerKind.Redis, "tls-pw",
                "--tls-port", tlsPort.ToString(), "--tls-cert-file", certFile, "--tls-key-file", keyFile,
                "--tls-ca-cert-file", certFile, "--tls-auth-clients", "no");

            var options = RedisConnectionOptions.Parse($"localhost:{tlsPort},password=tls-pw,ssl=true,connectTimeout=3000");
            options.CertificateValidation = (_, presented, _, errors) =>
                presented is not null && presented.GetCertHashString() == certificate.GetCertHashString()
                && (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None;
            await using var client = new RedisClient(options);

            Assert.True(await client.SetAsync(Prefix + "tls", "encrypted"));
            Assert.Equal("encrypted", await client.GetAsync(Prefix + "tls"));
            Assert.Contains("tls", (await client.ExecuteAsync("CONFIG", "GET", "tls-port")).Elements[0].AsString());

            // Without trusting the self-signed certificate the handshake is refused, as it must be.
            await using var untrusting = new RedisClient($"localhost:{tlsPort},password=tls-pw,ssl=true,connectTimeout=3000");
            var error = await Assert.ThrowsAsync<RedisConnectionException>(() => untrusting.GetAsync(Prefix + "tls"));
            var causes = new List<Exception>();
            for (Exception? cause = error; cause is not null; cause = cause.InnerException)
            {
                causes.Add(cause);
            }
            Assert.Contains(causes, c => c is System.Security.Authentication.AuthenticationException);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
