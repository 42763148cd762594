namespace EventCluster.Node.Api;

/// <summary>The settings of the node's HTTP API.</summary>
/// <param name="MaxStreams">Server-Sent Event streams served at once; more get 503 (<c>--max-streams</c>).</param>
/// <param name="StreamBuffer">Live events buffered per stream before its reader counts as too slow (<c>--stream-buffer</c>).</param>
/// <param name="StreamHeartbeatSeconds">Seconds between heartbeat comments on a quiet stream (<c>--stream-heartbeat</c>).</param>
/// <param name="ApiToken">Bearer token required by the write endpoints, or null for none (<c>--api-token</c>).</param>
public sealed record ApiOptions(int MaxStreams, int StreamBuffer, int StreamHeartbeatSeconds, string? ApiToken);
