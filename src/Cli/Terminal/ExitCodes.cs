namespace EventCluster.Cli.Terminal;

/// <summary>The documented exit codes of the eventcluster command.</summary>
public static class ExitCodes
{
    public const int Success = 0;

    /// <summary>Rejected by the cluster, or verification found a problem.</summary>
    public const int Rejected = 1;

    /// <summary>Bad usage or bad input; nothing was sent.</summary>
    public const int Usage = 2;

    /// <summary>
    /// The cluster could not do it now: no node answered (unreachable or timed out), or the
    /// journal could not store the event. Send it again with the same event id later; a stored
    /// one is answered as a duplicate.
    /// </summary>
    public const int Unavailable = 3;
}

/// <summary>Bad usage or bad input, reported before anything is sent (exit 2).</summary>
public sealed class UsageException(string message) : Exception(message);
