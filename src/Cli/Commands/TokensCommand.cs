using System.Security.Cryptography;
using System.Text;
using EventCluster.Cli.Terminal;

namespace EventCluster.Cli.Commands;

/// <summary>
/// <c>tokens hash</c>: the hex SHA-256 of a token read from standard input (without its trailing
/// line break), as a node's <c>--api-tokens</c> file stores it. The token never appears on a
/// command line, so it stays out of shell history and process lists.
/// </summary>
public static class TokensCommand
{
    /// <summary>Longest token read.</summary>
    public const int MaxTokenLength = 4096;

    public static int Run(Arguments args)
    {
        if (args.Action != "hash")
            throw new UsageException(args.Action is null ? "'tokens' needs an action: tokens hash" : $"unknown action 'tokens {args.Action}' (hash)");
        var buffer = new char[MaxTokenLength + 2];
        var read = Console.In.ReadBlock(buffer, 0, buffer.Length);
        var token = new string(buffer, 0, read).TrimEnd('\r', '\n');
        if (read == buffer.Length)
            throw new UsageException($"the token on standard input is longer than {MaxTokenLength} characters");
        if (token.Length == 0)
            throw new UsageException("no token on standard input; for example: printf %s \"$TOKEN\" | eventcluster tokens hash");
        if (token.Contains('\n') || token.Trim() != token)
            throw new UsageException("the token on standard input spans several lines or has spaces around it; give the token alone");
        Console.Out.WriteLine(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token))));
        return ExitCodes.Success;
    }
}
