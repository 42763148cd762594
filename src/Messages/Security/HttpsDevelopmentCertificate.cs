using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace EventCluster.Messages.Security;

/// <summary>
/// A self-signed certificate for a node's HTTPS port during development: valid for localhost,
/// 127.0.0.1, ::1 and the names given, for a year. Clients trust it by its own PEM.
/// </summary>
public static class HttpsDevelopmentCertificate
{
    /// <summary>The certificate and its private key (PKCS#8), each as PEM text.</summary>
    public static (string CertificatePem, string KeyPem) Create(IEnumerable<string> hosts)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=EventCluster development HTTPS", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        foreach (var host in new[] { "localhost", "127.0.0.1", "::1" }.Concat(hosts).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (IPAddress.TryParse(host, out var address))
                names.AddIpAddress(address);
            else
                names.AddDnsName(host);
        }

        request.CertificateExtensions.Add(names.Build());
        // Its own authority: clients that trust this PEM as a root accept it as the server's.
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false)); // server authentication
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        return (certificate.ExportCertificatePem() + "\n", key.ExportPkcs8PrivateKeyPem() + "\n");
    }
}
