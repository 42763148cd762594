namespace EventCluster.Cli.Terminal;

/// <summary>The documented exit codes of the eventcluster command.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Success = 0;

    /// <summary>Rejected by the cluster, or verification found a problem.</summary>
    public const int Rejected = 1;

    /// <summary>Bad usage or bad input; nothing was sent.</summary>
    public const int Usage = 2;

    /// <summary>The cluster was unreachable or did not answer in time.</summary>
    public const int Unreachable = 3;
}

/// <summary>Bad usage or bad input, reported before anything is sent (exit 2).</summary>
public sealed class UsageException(string message) : Exception(message);
