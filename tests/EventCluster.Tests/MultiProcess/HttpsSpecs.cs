using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using EventCluster.Tests.Support;

namespace EventCluster.Tests.MultiProcess;

/// <summary>
/// The HTTP port as HTTPS: a real node given the certificate <c>eventcluster certs http</c> makes
/// answers over TLS to a client that trusts that certificate, refuses plain HTTP on the same
/// port, and still wants its token.
/// </summary>
public sealed class HttpsSpecs
{
    [Fact]
    public async Task Should_serve_https_only_with_the_development_certificate_and_keep_requiring_the_token()
    {
        using var directory = new TempDirectory("eventcluster-https");
        var certs = await ClientRun.RunAsync(["certs", "http", "--out", directory.Path]);
        Assert.True(certs.ExitCode == 0, certs.ToString());
        var port = FreePorts.Next();
        await using var node = NodeProcess.StartNode(port, FreePorts.Next(), [$"127.0.0.1:{port}"],
            $"sqlite:{Path.Combine(directory.Path, "journal.db")}", Path.Combine(directory.Path, "node"),
            extraArguments: ["--api-token", "https-token", "--http-certificate", Path.Combine(directory.Path, "http.pem")]);
        using var trusted = TrustingClient(X509CertificateLoader.LoadCertificateFromFile(Path.Combine(directory.Path, "http-ca.pem")));
        trusted.BaseAddress = new Uri($"https://127.0.0.1:{node.HttpPort}");

        await Poll.UntilAsync(async () => (await trusted.GetAsync("/health/ready")).IsSuccessStatusCode, TimeSpan.FromSeconds(60),
            $"the node to be ready over HTTPS; last lines:\n{node.Tail()}");
        var anonymous = await trusted.GetAsync("/api/cluster");
        using var withToken = new HttpRequestMessage(HttpMethod.Get, "/api/cluster");
        withToken.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "https-token");
        var authorized = await trusted.SendAsync(withToken);
        using var untrusting = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var untrusted = await Record.ExceptionAsync(() => untrusting.GetAsync($"https://127.0.0.1:{node.HttpPort}/health/live"));
        using var plain = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var overHttp = await Record.ExceptionAsync(() => plain.GetAsync($"http://127.0.0.1:{node.HttpPort}/health/live"));

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.OK, authorized.StatusCode);
        Assert.IsType<AuthenticationException>(Assert.IsType<HttpRequestException>(untrusted).InnerException);
        // Kestrel answers a plain request on an HTTPS port by closing the connection.
        Assert.IsType<HttpRequestException>(overHttp);
        Assert.Contains(node.Lines, line => line.Contains("HTTPS", StringComparison.Ordinal));
    }

    /// <summary>A client that trusts <paramref name="root"/> alone, and checks the host name against it.</summary>
    private static HttpClient TrustingClient(X509Certificate2 root) =>
        new(new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                {
                    if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
                        return false;
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(root);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return chain.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
                },
            },
        }) { Timeout = TimeSpan.FromSeconds(30) };
}
