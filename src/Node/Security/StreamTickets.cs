using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace EventCluster.Node.Security;

/// <summary>
/// Short-lived tickets that open the event stream where a bearer header cannot be sent (a
/// browser's EventSource). A ticket names its token and scopes, expires after
/// <see cref="Lifetime"/> and is signed with HMAC-SHA256 under a key this node draws at start:
/// only the node that issued it accepts it, and a restart voids every ticket.
/// </summary>
public sealed class StreamTickets(TimeProvider clock)
{
    /// <summary>How long a ticket may be used to open a stream; an open stream outlives it.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);

    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    /// <summary>A ticket for <paramref name="entry"/>'s name and scopes, valid for <see cref="Lifetime"/>.</summary>
    public string Issue(ApiTokenEntry entry)
    {
        var name = Encoding.UTF8.GetBytes(entry.Name);
        var payload = new byte[9 + name.Length];
        BinaryPrimitives.WriteInt64BigEndian(payload, clock.GetUtcNow().Add(Lifetime).ToUnixTimeSeconds());
        payload[8] = (byte)entry.Scopes;
        name.CopyTo(payload, 9);
        return $"{Base64Url(payload)}.{Base64Url(HMACSHA256.HashData(_key, payload))}";
    }

    /// <summary>The token name and scopes of a valid, unexpired ticket; null for anything else.</summary>
    public (string Name, ApiScope Scopes)? Validate(string? ticket)
    {
        var dot = ticket?.IndexOf('.') ?? -1;
        if (dot <= 0 || !TryBase64Url(ticket![..dot], out var payload) || !TryBase64Url(ticket[(dot + 1)..], out var signature) ||
            payload.Length < 9 || !CryptographicOperations.FixedTimeEquals(signature, HMACSHA256.HashData(_key, payload)))
            return null;
        if (BinaryPrimitives.ReadInt64BigEndian(payload) < clock.GetUtcNow().ToUnixTimeSeconds())
            return null;
        return (Encoding.UTF8.GetString(payload, 9, payload.Length - 9), (ApiScope)payload[8]);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static bool TryBase64Url(string text, out byte[] bytes)
    {
        bytes = [];
        if (text.Length > 512)
            return false;
        var padded = text.Replace('-', '+').Replace('_', '/');
        padded += new string('=', (4 - padded.Length % 4) % 4);
        var buffer = new byte[padded.Length];
        if (!Convert.TryFromBase64String(padded, buffer, out var written))
            return false;
        bytes = buffer[..written];
        // Only the one canonical spelling: a last character that differs in padding bits alone
        // decodes to the same bytes, and a ticket altered that way is refused like any other.
        return Base64Url(bytes) == text;
    }
}
