using System.Net;
using System.Text.Json;

namespace EventCluster.Tests.Support;

/// <summary>One delivery a <see cref="WebhookReceiver"/> got.</summary>
/// <param name="EntityId">The event's entity.</param>
/// <param name="Version">Its version.</param>
/// <param name="Position">Its position.</param>
/// <param name="EventId">Its id.</param>
/// <param name="Headers">The request's headers.</param>
/// <param name="Body">The request's body.</param>
/// <param name="Status">What the receiver answered.</param>
/// <param name="At">When the request arrived (UTC).</param>
public sealed record Delivery(string EntityId, long Version, long Position, string EventId, IReadOnlyDictionary<string, string> Headers, byte[] Body, int Status,
    DateTime At = default);

/// <summary>
/// A real HTTP receiver for webhook deliveries on a free port of this machine: it records every
/// request and answers what <see cref="Answer"/> says (200 by default).
/// </summary>
public sealed class WebhookReceiver : IDisposable
{
    private readonly List<Delivery> _deliveries = [];
    private readonly LocalHttpServer _server;

    /// <summary>Starts listening.</summary>
    public WebhookReceiver() => _server = new LocalHttpServer(ReceiveAsync);

    /// <summary>
    /// The node arguments that let webhooks reach receivers on this machine's 127.0.0.1: by
    /// default nodes refuse loopback addresses.
    /// </summary>
    public static readonly string[] NodeArguments = ["--webhook-allowed-hosts", "127.0.0.1"];

    /// <summary>The port.</summary>
    public int Port => _server.Port;

    /// <summary>The URL to subscribe.</summary>
    public string Url => $"{_server.BaseUrl}/hook";

    /// <summary>The status to answer for a delivery (200 unless set).</summary>
    public Func<Delivery, int> Answer { get; set; } = _ => 200;

    /// <summary>Every request so far.</summary>
    public IReadOnlyList<Delivery> Deliveries
    {
        get
        {
            lock (_deliveries)
                return _deliveries.ToList();
        }
    }

    /// <summary>The deliveries answered with a 2xx.</summary>
    public IReadOnlyList<Delivery> Confirmed => Deliveries.Where(d => d.Status is >= 200 and < 300).ToList();

    /// <inheritdoc />
    public void Dispose() => _server.Dispose();

    private Task ReceiveAsync(HttpListenerContext context, byte[] bytes)
    {
        var at = DateTime.UtcNow;
        var json = JsonDocument.Parse(bytes).RootElement;
        var headers = context.Request.Headers.AllKeys.Where(k => k is not null)
            .ToDictionary(k => k!, k => context.Request.Headers[k]!, StringComparer.OrdinalIgnoreCase);
        var delivery = new Delivery(json.GetProperty("entityId").GetString()!, json.GetProperty("version").GetInt64(),
            json.GetProperty("position").GetInt64(), json.GetProperty("eventId").GetString()!, headers, bytes, 0, at);
        var status = Answer(delivery);
        lock (_deliveries)
            _deliveries.Add(delivery with { Status = status });
        context.Response.StatusCode = status;
        context.Response.Close();
        return Task.CompletedTask;
    }
}
