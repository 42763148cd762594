using EventCluster.Cli.Terminal;
using EventCluster.Client;
using EventCluster.Messages.Security;

namespace EventCluster.Cli.Commands;

/// <summary>
/// <c>certs create --out DIR</c>: a self-signed development certificate for one cluster, for TLS
/// with mutual authentication between its nodes and clients. Writes DIR/eventcluster.pfx and
/// DIR/eventcluster.pfx.password (readable by the owner only).
/// </summary>
public static class CertsCommand
{
    public static int Run(Arguments args)
    {
        if (args.Action != "create")
            throw new UsageException(args.Action is null ? "'certs' needs an action: certs create --out DIR" : $"unknown action 'certs {args.Action}' (create)");
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
}
