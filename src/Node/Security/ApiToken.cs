using System.Security.Cryptography;
using System.Text;

namespace EventCluster.Node.Security;

/// <summary>The node's API token, as the HTTP endpoints and the ingress check it.</summary>
public static class ApiToken
{
    /// <summary>True when no token is configured, or <paramref name="presented"/> is it (compared in constant time).</summary>
    public static bool Matches(string? configured, string? presented)
    {
        if (configured is null)
            return true;
        if (presented is null)
            return false;
        // Hashing first gives both sides the same length, so the comparison time says nothing about the token.
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)),
            SHA256.HashData(Encoding.UTF8.GetBytes(configured)));
    }
}
