using EventCluster.Cli.Terminal;
using EventCluster.Client;
using EventCluster.Messages.Security;

namespace EventCluster.Cli.Commands;

/// <summary>
/// <c>certs create --out DIR</c>: a self-signed development certificate for one cluster, for TLS
/// with mutual authentication between its nodes and clients. Writes DIR/eventcluster.pfx and
/// DIR/eventcluster.pfx.password (readable by the owner only).
/// <c>certs http --out DIR</c>: a self-signed development certificate for the nodes' HTTPS port.
/// </summary>
public static class CertsCommand
{
    public static int Run(Arguments args)
    {
        if (args.Action == "http")
            return Http(args);
        if (args.Action != "create")
            throw new UsageException(args.Action is null ? "'certs' needs an action: certs create|http --out DIR" : $"unknown action 'certs {args.Action}' (create, http)");
        var directory = Path.GetFullPath(args.Required("--out"));
        Directory.CreateDirectory(directory);
        var pfx = Path.Combine(directory, "eventcluster.pfx");
        var passwordFile = pfx + ".password";
        if (File.Exists(pfx) || File.Exists(passwordFile))
            throw new UsageException($"{pfx} already exists; remove it or choose another --out");

        var password = RemoteTls.CreateDevelopmentCertificate(pfx);
        File.WriteAllText(passwordFile, password + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(pfx, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        Console.Out.WriteLine($"""
            certificate: {pfx}
            password:    {passwordFile}
            Give every node and client of the cluster both, for example:
              export {RemoteTls.CertificateVariable}={pfx}
              export {RemoteTls.PasswordVariable}="$(cat {passwordFile})"
            """);
        return ExitCodes.Success;
    }

    /// <summary>
    /// DIR/http.pem, the certificate and its unencrypted key for <c>--http-certificate</c>
    /// (owner-only), and DIR/http-ca.pem, the certificate alone, for clients to trust.
    /// </summary>
    private static int Http(Arguments args)
    {
        var directory = Path.GetFullPath(args.Required("--out"));
        var hosts = args.Values("--host");
        if (hosts.FirstOrDefault(host => Uri.CheckHostName(host) == UriHostNameType.Unknown) is { } bad)
            throw new UsageException($"--host '{bad}' is not a host name or an address");
        Directory.CreateDirectory(directory);
        var pem = Path.Combine(directory, "http.pem");
        var ca = Path.Combine(directory, "http-ca.pem");
        if (File.Exists(pem) || File.Exists(ca))
            throw new UsageException($"{pem} or {ca} already exists; remove them or choose another --out");

        var (certificate, key) = HttpsDevelopmentCertificate.Create(hosts);
        File.WriteAllText(pem, certificate + key);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(pem, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(ca, certificate);
        Console.Out.WriteLine($"""
            certificate and key: {pem}
            for clients to trust: {ca}
            Give every node the first, for example:
              export EVENTCLUSTER_HTTP_CERTIFICATE={pem}
            and clients the second, for example: curl --cacert {ca} https://127.0.0.1:5053/health/ready
            """);
        return ExitCodes.Success;
    }
}
