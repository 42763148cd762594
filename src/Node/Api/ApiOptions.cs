using EventCluster.Node.Security;

namespace EventCluster.Node.Api;

/// <summary>The settings of the node's HTTP API.</summary>
/// <param name="MaxStreams">Server-Sent Event streams served at once; more get 503 (<c>--max-streams</c>).</param>
/// <param name="StreamBuffer">Live events buffered per stream before its reader counts as too slow (<c>--stream-buffer</c>).</param>
/// <param name="StreamHeartbeatSeconds">Seconds between heartbeat comments on a quiet stream (<c>--stream-heartbeat</c>).</param>
/// <param name="Tokens">The tokens the API accepts; none: every endpoint is open (<c>--api-tokens</c>, <c>--api-token</c>).</param>
/// <param name="MetricsNeedToken">Whether <c>GET /metrics</c> needs a token with the read scope, like <c>/api</c> (<c>--protect-metrics</c>).</param>
/// <param name="WritesPerSecond">Writes per second per client on this node; 0: no limit (<c>--rate-limit-writes</c>, <see cref="ApiRateLimits"/>).</param>
/// <param name="StreamsPerSecond">Streams opened and tickets asked for per second per client on this node; 0: no limit (<c>--rate-limit-streams</c>).</param>
public sealed record ApiOptions(int MaxStreams, int StreamBuffer, int StreamHeartbeatSeconds, ApiTokens Tokens, bool MetricsNeedToken,
    int WritesPerSecond, int StreamsPerSecond);
