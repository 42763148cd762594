using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace EventCluster.Node.Webhooks;

/// <summary>A connection a webhook may not make: the address it would reach and the rule that forbids it.</summary>
public sealed class WebhookAddressRefusedException(string message) : Exception(message);

/// <summary>
/// Where webhooks may connect. By default never to loopback, link-local, private (with carrier-grade
/// NAT's 100.64/10), unspecified, multicast, broadcast or reserved addresses, nor to IPv6 forms
/// that carry such an IPv4 address (IPv4-mapped, NAT64, 6to4): a subscription must not
/// make the cluster call the node itself, the cloud's metadata service or a database inside the
/// network. The exceptions (<c>--webhook-allowed-hosts</c>):
/// <list type="bullet">
/// <item>an address or CIDR range: connections to those addresses are allowed, whatever their class;</item>
/// <item>a host name: URLs with that host are accepted without resolving it, and their connections
/// may reach private addresses (10/8, 172.16/12, 192.168/16, fc00::/7), but not loopback,
/// link-local and the rest, which only an address rule opens.</item>
/// </list>
/// The rules are applied to the address actually connected to (<see cref="ConnectAsync"/>), so a
/// name that resolves elsewhere between the check and the connection (DNS rebinding) gains nothing.
/// </summary>
public sealed class WebhookAddressPolicy
{
    /// <summary>No exceptions.</summary>
    public static readonly WebhookAddressPolicy Default = new(new HashSet<string>(), []);

    /// <summary>How long resolving a subscription's host name at creation may take.</summary>
    public static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(5);

    private const string PrivateClass = "private";

    // Each blocked range with the class it belongs to. IPv6 addresses that carry an IPv4 address
    // (IPv4-mapped, NAT64's 64:ff9b::/96, 6to4's 2002::/16, IPv4-compatible ::/96) are checked as
    // that IPv4 address: 64:ff9b::a9fe:a9fe reaches 169.254.169.254 through a NAT64 gateway.
    private static readonly (IPNetwork Network, string Class)[] Blocked =
    [
        (IPNetwork.Parse("0.0.0.0/8"), "unspecified"),
        (IPNetwork.Parse("127.0.0.0/8"), "loopback"),
        (IPNetwork.Parse("169.254.0.0/16"), "link-local"),
        (IPNetwork.Parse("10.0.0.0/8"), PrivateClass),
        (IPNetwork.Parse("172.16.0.0/12"), PrivateClass),
        (IPNetwork.Parse("192.168.0.0/16"), PrivateClass),
        (IPNetwork.Parse("100.64.0.0/10"), "carrier-grade NAT " + PrivateClass),
        (IPNetwork.Parse("224.0.0.0/4"), "multicast"),
        (IPNetwork.Parse("255.255.255.255/32"), "broadcast"),
        (IPNetwork.Parse("192.0.0.0/24"), "reserved"),
        (IPNetwork.Parse("198.18.0.0/15"), "reserved"),
        (IPNetwork.Parse("240.0.0.0/4"), "reserved"),
        (IPNetwork.Parse("::/128"), "unspecified"),
        (IPNetwork.Parse("::1/128"), "loopback"),
        (IPNetwork.Parse("fe80::/10"), "link-local"),
        (IPNetwork.Parse("fc00::/7"), PrivateClass),
        (IPNetwork.Parse("fec0::/10"), "site-local " + PrivateClass),
        (IPNetwork.Parse("64:ff9b:1::/48"), "local NAT64 " + PrivateClass),
        (IPNetwork.Parse("ff00::/8"), "multicast"),
    ];

    private readonly IReadOnlySet<string> _names;
    private readonly IReadOnlyList<IPNetwork> _networks;

    private WebhookAddressPolicy(IReadOnlySet<string> names, IReadOnlyList<IPNetwork> networks)
    {
        _names = names;
        _networks = networks;
    }

    /// <summary>The rules as given, for messages.</summary>
    public string Description => _names.Count + _networks.Count == 0
        ? "none"
        : string.Join(", ", _names.Order(StringComparer.Ordinal).Concat(_networks.Select(n => n.ToString())));

    /// <summary>
    /// The policy with <paramref name="entries"/> as exceptions: host names, addresses
    /// (<c>127.0.0.1</c>, <c>::1</c>) or CIDR ranges (<c>10.1.0.0/16</c>). Throws
    /// <see cref="FormatException"/> naming an entry that is none of these.
    /// </summary>
    public static WebhookAddressPolicy Parse(IEnumerable<string> entries)
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var networks = new List<IPNetwork>();
        foreach (var entry in entries.Select(e => e.Trim()).Where(e => e.Length > 0))
        {
            var bare = entry.StartsWith('[') && entry.EndsWith(']') ? entry[1..^1] : entry;
            if (IPAddress.TryParse(bare, out var address) && !bare.Contains('/'))
                networks.Add(new IPNetwork(Canonical(address), Canonical(address).AddressFamily == AddressFamily.InterNetwork ? 32 : 128));
            else if (bare.Contains('/'))
                // A base address with bits set after the prefix is most likely a typo: refused, not masked.
                networks.Add(IPNetwork.TryParse(bare, out var network) && IPAddress.TryParse(bare[..bare.IndexOf('/')], out var start) &&
                             network.BaseAddress.Equals(start)
                    ? network
                    : throw new FormatException($"--webhook-allowed-hosts: '{entry}' is not a CIDR range such as 10.1.0.0/16 (the bits after the prefix must be 0)"));
            else if (Uri.CheckHostName(bare) == UriHostNameType.Dns)
                names.Add(bare.TrimEnd('.'));
            else
                throw new FormatException($"--webhook-allowed-hosts: '{entry}' is not a host name, an address or a CIDR range");
        }

        return new WebhookAddressPolicy(names, networks);
    }

    /// <summary>The class of <paramref name="address"/> webhooks may not reach by default (loopback, private, …), or null.</summary>
    public static string? BlockedClass(IPAddress address)
    {
        var canonical = Canonical(address);
        foreach (var (network, kind) in Blocked)
            if (network.Contains(canonical))
                return address.IsIPv4MappedToIPv6 ? $"IPv4-mapped {kind}" : !canonical.Equals(address) ? $"IPv4-embedding {kind}" : kind;
        return null;
    }

    /// <summary>Why a connection for a URL with host <paramref name="host"/> may not reach <paramref name="address"/>, or null when it may.</summary>
    public string? Refusal(string host, IPAddress address)
    {
        if (BlockedClass(address) is not { } kind)
            return null;
        var canonical = Canonical(address);
        if (_networks.Any(network => network.Contains(canonical)))
            return null;
        if (kind.EndsWith(PrivateClass, StringComparison.Ordinal) && _names.Contains(host.TrimEnd('.')))
            return null;
        var opening = kind.EndsWith(PrivateClass, StringComparison.Ordinal)
            ? $"name the host or the address in --webhook-allowed-hosts to allow it"
            : $"only an address or CIDR rule in --webhook-allowed-hosts allows it";
        return $"{address} is a {kind} address, which webhooks may not reach ({opening}; rules: {Description})";
    }

    /// <summary>
    /// Why a subscription may not have <paramref name="url"/>, or null: its literal address, or
    /// every address its host name resolves to now, must be allowed. A name listed in the rules is
    /// accepted unresolved; its connections are still checked.
    /// </summary>
    public async Task<string?> RefusalAsync(Uri url, CancellationToken cancel)
    {
        var host = url.IdnHost;
        if (IPAddress.TryParse(host, out var literal))
            return Refusal(host, literal) is { } refused ? $"url '{url}': {refused}" : null;
        if (_names.Contains(host.TrimEnd('.')))
            return null;
        IPAddress[] addresses;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(ResolveTimeout);
        try
        {
            addresses = await Dns.GetHostAddressesAsync(host, timeout.Token);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            return $"url '{url}': host '{host}' does not resolve ({(ex is SocketException s ? s.SocketErrorCode.ToString() : "no answer within " + ResolveTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture) + " s")}); a subscription's host must resolve to addresses webhooks may reach";
        }

        return addresses.Length == 0
            ? $"url '{url}': host '{host}' resolves to no address"
            : addresses.Select(address => Refusal(host, address)).FirstOrDefault(r => r is not null) is { } refusal
                ? $"url '{url}': host '{host}' resolves to {string.Join(", ", addresses.Select(a => a.ToString()))}; {refusal}"
                : null;
    }

    /// <summary>
    /// Connects to <paramref name="endpoint"/> for a webhook: resolves it, drops the addresses the
    /// rules forbid and connects to the first allowed one that answers. The check is made on the
    /// very address connected to. Throws <see cref="WebhookAddressRefusedException"/> when every
    /// address is forbidden.
    /// </summary>
    public async ValueTask<Stream> ConnectAsync(DnsEndPoint endpoint, CancellationToken cancel)
    {
        var addresses = IPAddress.TryParse(endpoint.Host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(endpoint.Host, cancel);
        var allowed = addresses.Where(address => Refusal(endpoint.Host, address) is null).ToList();
        if (allowed.Count == 0)
            throw new WebhookAddressRefusedException(addresses.Length == 0
                ? $"host '{endpoint.Host}' resolves to no address"
                : $"refused to connect to '{endpoint.Host}': {Refusal(endpoint.Host, addresses[0])}");
        SocketException? last = null;
        foreach (var address in allowed)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, endpoint.Port), cancel);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                last = ex;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw last!;
    }

    private static IPAddress Canonical(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
            return address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
            return address;
        var bytes = address.GetAddressBytes();
        if (Nat64.Contains(address))
            return new IPAddress(bytes.AsSpan(12, 4));
        if (bytes[0] == 0x20 && bytes[1] == 0x02)
            return new IPAddress(bytes.AsSpan(2, 4));
        // IPv4-compatible (deprecated): ::a.b.c.d, but not :: and ::1, which are IPv6's own.
        if (bytes.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0 && !address.Equals(IPAddress.IPv6Any) && !address.Equals(IPAddress.IPv6Loopback))
            return new IPAddress(bytes.AsSpan(12, 4));
        return address;
    }

    private static readonly IPNetwork Nat64 = IPNetwork.Parse("64:ff9b::/96");
}
