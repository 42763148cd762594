using System.Security.Cryptography;
using System.Text;

namespace EventCluster.Node.Webhooks;

/// <summary>A stored webhook secret this node cannot open: sealed under a key it was not given, or altered.</summary>
public sealed class WebhookSecretUnavailableException(string message) : Exception(message);

/// <summary>
/// How webhook signing secrets are kept in the journal database: sealed with AES-256-GCM under the
/// nodes' secrets key (<c>--secrets-key-file</c>, <c>EVENTCLUSTER_SECRETS_KEY</c>), a fresh random
/// nonce per value and the subscription's name as associated data, so that a sealed secret cannot
/// be moved to another subscription. Each sealed value names its key by an id derived from the
/// key, so several keys can be configured at once: the first seals, every one opens (rotation).
/// </summary>
/// <remarks>
/// Stored form: <c>v1:&lt;key id&gt;:&lt;base64 of nonce (12 bytes), tag (16) and ciphertext&gt;</c>
/// in the <c>secret_sealed</c> column. The <c>secret</c> column, which the previous release reads,
/// then holds <see cref="SealedMarker"/>, never the secret.
/// </remarks>
public sealed class WebhookSecrets
{
    /// <summary>What the <c>secret</c> column holds for a sealed secret. A previous release signs with it, so its signatures fail verification rather than go unsigned.</summary>
    public const string SealedMarker = "sealed:see-secret_sealed";

    /// <summary>Length of a key: AES-256.</summary>
    public const int KeyBytes = 32;

    private const string Version = "v1";
    private const int NonceBytes = 12;
    private const int TagBytes = 16;

    private readonly IReadOnlyList<(string Id, byte[] Key)> _keys;

    private WebhookSecrets(IReadOnlyList<byte[]> keys, bool allowPlaintext)
    {
        _keys = keys.Select(key => (IdOf(key), key)).ToList();
        AllowPlaintext = allowPlaintext;
    }

    /// <summary>No key: secrets are stored in plain text only when <paramref name="allowPlaintext"/>.</summary>
    public static WebhookSecrets None(bool allowPlaintext = false) => new([], allowPlaintext);

    /// <summary>True when the node has a key to seal with.</summary>
    public bool CanSeal => _keys.Count > 0;

    /// <summary>True when a node without a key may store a new secret in plain text (<c>--allow-plaintext-secrets</c>).</summary>
    public bool AllowPlaintext { get; }

    /// <summary>The id of the key that seals new values, or null without keys.</summary>
    public string? SealingKeyId => CanSeal ? _keys[0].Id : null;

    /// <summary>
    /// The keys in <paramref name="text"/>: base64 of 32 bytes each, separated by commas, blanks or
    /// line breaks (lines starting with # are comments); the first seals. Throws <see cref="FormatException"/>
    /// naming <paramref name="source"/>.
    /// </summary>
    public static WebhookSecrets Parse(string text, string source, bool allowPlaintext)
    {
        var keys = new List<byte[]>();
        foreach (var line in text.Split('\n'))
        {
            if (line.TrimStart().StartsWith('#'))
                continue;
            foreach (var item in line.Split([',', ' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries))
            {
                byte[] key;
                try
                {
                    key = Convert.FromBase64String(item);
                }
                catch (FormatException)
                {
                    throw new FormatException($"{source}: key {keys.Count + 1} is not base64 (make one with: openssl rand -base64 32)");
                }

                if (key.Length != KeyBytes)
                    throw new FormatException($"{source}: key {keys.Count + 1} is {key.Length} bytes; a key is {KeyBytes} bytes, base64-encoded (openssl rand -base64 32)");
                keys.Add(key);
            }
        }

        if (keys.Count == 0)
            throw new FormatException($"{source} holds no key (base64 of {KeyBytes} bytes: openssl rand -base64 32)");
        return new WebhookSecrets(keys, allowPlaintext);
    }

    /// <summary>The id stored beside a value sealed with <paramref name="key"/>: 8 hex digits of a hash that reveals nothing of the key.</summary>
    public static string IdOf(byte[] key) =>
        Convert.ToHexStringLower(SHA256.HashData([.. "eventcluster webhook secrets key id\n"u8, .. key]))[..8];

    /// <summary>Seals <paramref name="secret"/> of subscription <paramref name="name"/> under the first key.</summary>
    public string Seal(string name, string secret)
    {
        if (!CanSeal)
            throw new InvalidOperationException("no secrets key to seal with");
        var (id, key) = _keys[0];
        var plain = Encoding.UTF8.GetBytes(secret);
        var sealedBytes = new byte[NonceBytes + TagBytes + plain.Length];
        var nonce = sealedBytes.AsSpan(0, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagBytes);
        aes.Encrypt(nonce, plain, sealedBytes.AsSpan(NonceBytes + TagBytes), sealedBytes.AsSpan(NonceBytes, TagBytes), Encoding.UTF8.GetBytes(name));
        return $"{Version}:{id}:{Convert.ToBase64String(sealedBytes)}";
    }

    /// <summary>Opens a value of <see cref="Seal"/> for subscription <paramref name="name"/>; throws <see cref="WebhookSecretUnavailableException"/> saying why it cannot.</summary>
    public string Open(string name, string sealedValue)
    {
        var parts = sealedValue.Split(':');
        if (parts.Length != 3 || parts[0] != Version)
            throw new WebhookSecretUnavailableException("its stored secret is in a form this release does not know");
        var key = _keys.FirstOrDefault(k => k.Id == parts[1]).Key;
        if (key is null)
            throw new WebhookSecretUnavailableException(CanSeal
                ? $"its secret is sealed under key {parts[1]}, which this node does not have (its keys: {string.Join(", ", _keys.Select(k => k.Id))})"
                : $"its secret is sealed under key {parts[1]}, and this node has no secrets key (--secrets-key-file or EVENTCLUSTER_SECRETS_KEY)");
        try
        {
            var bytes = Convert.FromBase64String(parts[2]);
            var plain = new byte[bytes.Length - NonceBytes - TagBytes];
            using var aes = new AesGcm(key, TagBytes);
            aes.Decrypt(bytes.AsSpan(0, NonceBytes), bytes.AsSpan(NonceBytes + TagBytes), bytes.AsSpan(NonceBytes, TagBytes), plain,
                Encoding.UTF8.GetBytes(name));
            return Encoding.UTF8.GetString(plain);
        }
        catch (Exception ex) when (ex is FormatException or CryptographicException or OverflowException or ArgumentException)
        {
            throw new WebhookSecretUnavailableException($"its sealed secret does not open with key {parts[1]}: it was altered or belongs to another subscription");
        }
    }

    /// <summary>True when a stored value should be sealed again: it is plain text, or sealed under a key other than the first.</summary>
    public bool NeedsResealing(string? plainColumn, string? sealedColumn) =>
        CanSeal && (sealedColumn is null ? plainColumn is not null : !sealedColumn.StartsWith($"{Version}:{SealingKeyId}:", StringComparison.Ordinal));
}
