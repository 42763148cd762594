using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace EventCluster.Node.Hosting;

/// <summary>The certificate the HTTP port serves HTTPS with (<c>--http-certificate</c>).</summary>
public static class HttpsCertificate
{
    /// <summary>
    /// Loads a .pfx/.p12, or a PEM file holding the certificate (its chain may follow) and its
    /// private key, encrypted when <paramref name="password"/> is given. Throws
    /// <see cref="NodeOptionsException"/> with the reason when it cannot be served.
    /// </summary>
    public static X509Certificate2 Load(string path, string? password)
    {
        if (!File.Exists(path))
            throw new NodeOptionsException($"--http-certificate '{path}' does not exist");
        X509Certificate2 certificate;
        try
        {
            var extension = Path.GetExtension(path).ToLowerInvariant();
            certificate = extension is ".pfx" or ".p12"
                ? X509CertificateLoader.LoadPkcs12FromFile(path, password)
                : password is null
                    ? X509Certificate2.CreateFromPemFile(path)
                    : X509Certificate2.CreateFromEncryptedPemFile(path, password);
        }
        catch (CryptographicException ex)
        {
            throw new NodeOptionsException(
                $"--http-certificate '{path}' cannot be opened (a .pfx/.p12 with its password, or a PEM with the certificate and its private key): {ex.Message}");
        }
        catch (ArgumentException ex)
        {
            throw new NodeOptionsException($"--http-certificate '{path}' holds no usable PEM certificate and key: {ex.Message}");
        }

        if (!certificate.HasPrivateKey)
            throw new NodeOptionsException($"--http-certificate '{path}' has no private key");
        if (certificate.NotAfter < DateTime.Now)
            throw new NodeOptionsException($"--http-certificate '{path}' expired on {certificate.NotAfter:u}");
        return certificate;
    }
}
