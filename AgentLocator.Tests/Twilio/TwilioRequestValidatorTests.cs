using System.Text;
using AgentLocator.Twilio.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace AgentLocator.Tests.Twilio;

public sealed class TwilioRequestValidatorTests
{
    private const string AuthToken = "12345";
    private const string Url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    private const string JsonBody = """{"property": "value", "boolean": true}""";
    private const string JsonBodyHash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";

    private static readonly KeyValuePair<string, string>[] Parameters =
    [
        new("To", "+18005551212"),
        new("From", "+14158675309"),
        new("Digits", "1234"),
        new("Caller", "+14158675309"),
        new("CallSid", "CA1234567890ABCDE"),
    ];

    private readonly TwilioRequestValidator _validator = new(AuthToken);

    [Theory]
    [InlineData("https://mycompany.com/myapp.php?foo=1&bar=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")]
    [InlineData("https://mycompany.com:443/myapp.php?foo=1&bar=2", "kvajT1Ptam85bY51eRf/AJRuM3w=")]
    [InlineData("http://mycompany.com:80/myapp.php?foo=1&bar=2", "0ZXoZLH/DfblKGATFgpif+LLRf4=")]
    [InlineData("http://mycompany.com:1234/myapp.php?foo=1&bar=2", "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=")]
    [InlineData("https://MyCompany.com/myapp.php?foo=1&bar=2", "g9IN/x4Cft2g517EjYvEvM/W7LU=")]
    [InlineData("https://mycompany.com/myapp.php", "1xaxFBvyzXYvWplzNOSs28HWO94=")]
    public void FormPostSignatureMatchesTheDocumentedVector(string url, string expected)
    {
        Assert.Equal(expected, _validator.ComputeSignature(url, Parameters));
        Assert.True(_validator.Validate(url, Parameters, expected));
    }

    [Fact]
    public void UrlWithoutParametersMatchesTheDocumentedVector()
    {
        Assert.Equal("zYQTYrRWXE7LtzbG4PfP7/bkkGo=", _validator.ComputeSignature(Url));
        Assert.True(_validator.ValidateGet(Url, "zYQTYrRWXE7LtzbG4PfP7/bkkGo="));
    }

    [Fact]
    public void ParametersAreSortedOrdinallySoCallSidComesBeforeCaller()
    {
        // A culture-aware sort puts "Caller" before "CallSid"; the vector only matches ordinal order.
        var reordered = Parameters.Reverse().ToArray();
        Assert.Equal("RSOYDt4T1cUTdK1PDd93/VVr8B8=", _validator.ComputeSignature(Url, reordered));
    }

    [Fact]
    public void FormCollectionParametersSignLikeKeyValuePairs()
    {
        var grouped = new FormCollection(Parameters.ToDictionary(p => p.Key, p => new StringValues(p.Value)));
        Assert.True(_validator.Validate(Url, grouped, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    }

    [Fact]
    public void HttpsSignatureWithDefaultPortValidatesForTheUrlWithoutPort()
    {
        Assert.True(_validator.Validate(Url, Parameters, "kvajT1Ptam85bY51eRf/AJRuM3w="));
    }

    [Fact]
    public void SignatureWithoutPortValidatesForTheUrlWithTheDefaultPort()
    {
        Assert.True(_validator.Validate("https://mycompany.com:443/myapp.php?foo=1&bar=2", Parameters, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    }

    [Fact]
    public void HttpSignatureWithPortEightyValidatesForTheUrlWithoutPort()
    {
        Assert.True(_validator.Validate("http://mycompany.com/myapp.php?foo=1&bar=2", Parameters, "0ZXoZLH/DfblKGATFgpif+LLRf4="));
    }

    [Fact]
    public void SignatureWithoutPortValidatesForAUrlWithACustomPort()
    {
        var withoutPort = _validator.ComputeSignature("http://mycompany.com/myapp.php?foo=1&bar=2", Parameters);
        Assert.True(_validator.Validate("http://mycompany.com:1234/myapp.php?foo=1&bar=2", Parameters, withoutPort));
        Assert.True(_validator.Validate("http://mycompany.com:1234/myapp.php?foo=1&bar=2", Parameters, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="));
    }

    [Fact]
    public void HostCaseMattersSoALowercasedHostDoesNotValidate()
    {
        Assert.True(_validator.Validate("https://MyCompany.com/myapp.php?foo=1&bar=2", Parameters, "g9IN/x4Cft2g517EjYvEvM/W7LU="));
        Assert.False(_validator.Validate(Url, Parameters, "g9IN/x4Cft2g517EjYvEvM/W7LU="));
    }

    [Fact]
    public void TamperedParameterIsRejected()
    {
        var tampered = Parameters.Select(p => p.Key == "Digits" ? new KeyValuePair<string, string>("Digits", "1235") : p).ToArray();
        Assert.False(_validator.Validate(Url, tampered, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    }

    [Fact]
    public void ValuesAreNeverTrimmed()
    {
        var padded = Parameters.Select(p => p.Key == "Digits" ? new KeyValuePair<string, string>("Digits", "1234 ") : p).ToArray();
        Assert.False(_validator.Validate(Url, padded, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
        Assert.NotEqual(_validator.ComputeSignature(Url, Parameters), _validator.ComputeSignature(Url, padded));
    }

    [Fact]
    public void WrongTokenIsRejected()
    {
        Assert.False(new TwilioRequestValidator("54321").Validate(Url, Parameters, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not base64 at all")]
    [InlineData("RSOYDt4T1cUTdK1PDd93/VVr8B8")]
    public void MissingOrMalformedSignatureIsRejected(string? signature)
    {
        Assert.False(_validator.Validate(Url, Parameters, signature));
    }

    [Fact]
    public void FragmentIsStrippedBeforeSigning()
    {
        Assert.Equal("RSOYDt4T1cUTdK1PDd93/VVr8B8=", _validator.ComputeSignature(Url + "#section", Parameters));
        Assert.True(_validator.Validate(Url + "#section", Parameters, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    }

    [Fact]
    public void RepeatedKeysAppendEachSortedValue()
    {
        var manual = _validator.ComputeSignature(Url + "MediaUrlaMediaUrlbMediaUrlc");
        var repeated = _validator.ComputeSignature(Url, [new("MediaUrl", "c"), new("MediaUrl", "a"), new("MediaUrl", "b")]);
        Assert.Equal(manual, repeated);
    }

    [Fact]
    public void EmptyValuesStillContributeTheirName()
    {
        Assert.Equal(
            _validator.ComputeSignature(Url + "ForwardedFrom"),
            _validator.ComputeSignature(Url, [new("ForwardedFrom", "")]));
    }

    [Fact]
    public void JsonBodyHashMatchesTheDocumentedVector()
    {
        Assert.Equal(JsonBodyHash, TwilioRequestValidator.ComputeBodyHash(Encoding.UTF8.GetBytes(JsonBody)));
    }

    [Fact]
    public void JsonBodyRequestWithMatchingHashAndSignatureIsValid()
    {
        var url = $"{Url}&bodySHA256={JsonBodyHash}";
        Assert.Equal("a9nBmqA0ju/hNViExpshrM61xv4=", _validator.ComputeSignature(url));
        Assert.True(_validator.ValidateWithBody(url, JsonBody, "a9nBmqA0ju/hNViExpshrM61xv4="));
        Assert.True(_validator.ValidateWithBody(url, Encoding.UTF8.GetBytes(JsonBody), "a9nBmqA0ju/hNViExpshrM61xv4="));
    }

    [Fact]
    public void JsonBodyThatDoesNotMatchTheSignedHashIsRejected()
    {
        var url = $"{Url}&bodySHA256={JsonBodyHash}";
        Assert.False(_validator.ValidateWithBody(url, """{"property": "value", "boolean": false}""", "a9nBmqA0ju/hNViExpshrM61xv4="));
    }

    [Fact]
    public void JsonBodyWithoutBodyHashParameterIsRejectedEvenWhenTheUrlSignatureMatches()
    {
        Assert.False(_validator.ValidateWithBody(Url, JsonBody, "zYQTYrRWXE7LtzbG4PfP7/bkkGo="));
    }

    [Fact]
    public void CandidateUrlsKeepHostCaseAndCoverPortVariants()
    {
        Assert.Equal(
            ["https://MyHost.com/a?b=1", "https://MyHost.com:443/a?b=1"],
            TwilioRequestValidator.GetCandidateUrls("https://MyHost.com/a?b=1#frag"));
        Assert.Equal(
            ["http://user@[::1]:8080/x", "http://user@[::1]/x"],
            TwilioRequestValidator.GetCandidateUrls("http://user@[::1]:8080/x"));
    }
}
