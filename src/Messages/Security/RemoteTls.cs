using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Remote.Transport.DotNetty;

namespace EventCluster.Messages.Security;

/// <summary>A TLS certificate that cannot be used: missing file, wrong password, no private key.</summary>
public sealed class TlsConfigurationException(string message) : Exception(message);

/// <summary>
/// TLS with mutual authentication for Akka.Remote, shared by nodes and clients. Every peer
/// presents its certificate and accepts only a peer whose certificate it trusts: with a
/// self-signed certificate (what <c>eventcluster certs create</c> makes, one per cluster), the
/// peer must present that very certificate; with a CA-issued one, its chain must validate.
/// </summary>
public static class RemoteTls
{
    /// <summary>Environment variable naming the .pfx file.</summary>
    public const string CertificateVariable = "EVENTCLUSTER_TLS_CERTIFICATE";

    /// <summary>Environment variable holding the .pfx password.</summary>
    public const string PasswordVariable = "EVENTCLUSTER_TLS_PASSWORD";

    /// <summary>HOCON that turns TLS on for the DotNetty transport (the certificate comes from <see cref="Setup"/>).</summary>
    public const string Hocon = "akka.remote.dot-netty.tcp.enable-ssl = true";

    /// <summary>Loads a .pfx; throws <see cref="TlsConfigurationException"/> with the reason when it cannot be used.</summary>
    public static X509Certificate2 Load(string path, string? password)
    {
        if (!File.Exists(path))
            throw new TlsConfigurationException($"TLS certificate '{path}' does not exist");
        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(path, password, X509KeyStorageFlags.Exportable);
        }
        catch (CryptographicException ex)
        {
            throw new TlsConfigurationException(
                $"TLS certificate '{path}' cannot be opened (wrong password, or not a .pfx file): {ex.Message}");
        }

        if (!certificate.HasPrivateKey)
            throw new TlsConfigurationException($"TLS certificate '{path}' has no private key");
        return certificate;
    }

    /// <summary>The transport setup: present <paramref name="certificate"/>, require the peer's, trust as described above.</summary>
    public static DotNettySslSetup Setup(X509Certificate2 certificate)
    {
        var selfSigned = certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData);
        var trust = selfSigned
            ? CertificateValidation.PinnedCertificate(certificate.Thumbprint)
            : CertificateValidation.ValidateChain();
        return new DotNettySslSetup(certificate, suppressValidation: false, requireMutualAuthentication: true,
            validateCertificateHostname: false, trust);
    }

    /// <summary>
    /// Creates a self-signed development certificate for one cluster: every node and client
    /// gets the same .pfx and password. Returns the password.
    /// </summary>
    public static string CreateDevelopmentCertificate(string pfxPath, string clusterName = "eventcluster")
    {
        using var key = RSA.Create(3072);
        var request = new CertificateRequest($"CN={clusterName}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false)); // server and client authentication
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(2));
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        File.WriteAllBytes(pfxPath, certificate.Export(X509ContentType.Pfx, password));
        return password;
    }
}
