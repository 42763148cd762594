using System.Net;
using System.Text;

namespace EventCluster.Tests.Support;

/// <summary>A span as an OTLP exporter sent it, with the resource attributes of its node.</summary>
public sealed record ReceivedSpan(
    string TraceId, string SpanId, string ParentSpanId, string Name,
    IReadOnlyDictionary<string, string> Attributes, IReadOnlyDictionary<string, string> Resource);

/// <summary>
/// An OTLP/HTTP trace receiver (protobuf POSTs to <c>/v1/traces</c>) that keeps every span it is
/// sent. It decodes the few fields the specs read straight from the protobuf wire format.
/// </summary>
public sealed class OtlpTraceReceiver : IDisposable
{
    private readonly List<ReceivedSpan> _spans = [];
    private readonly LocalHttpServer _server;

    /// <summary>Starts listening on a free port.</summary>
    public OtlpTraceReceiver() => _server = new LocalHttpServer(ReceiveAsync);

    /// <summary>The port.</summary>
    public int Port => _server.Port;

    /// <summary>The value of <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> for a node that exports here.</summary>
    public string Endpoint => _server.BaseUrl;

    /// <summary>Requests that were not a POST to /v1/traces, or whose body was not a trace export.</summary>
    public List<string> Refused { get; } = [];

    /// <summary>Every span received so far.</summary>
    public IReadOnlyList<ReceivedSpan> Spans
    {
        get
        {
            lock (_spans)
                return _spans.ToList();
        }
    }

    /// <inheritdoc />
    public void Dispose() => _server.Dispose();

    private Task ReceiveAsync(HttpListenerContext context, byte[] body)
    {
        var status = 200;
        try
        {
            if (context.Request.HttpMethod != "POST" || context.Request.Url?.AbsolutePath != "/v1/traces"
                || context.Request.ContentType != "application/x-protobuf")
                throw new InvalidDataException($"{context.Request.HttpMethod} {context.Request.Url?.AbsolutePath} ({context.Request.ContentType})");
            var spans = Decode(body);
            lock (_spans)
                _spans.AddRange(spans);
        }
        catch (Exception ex) when (ex is InvalidDataException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            lock (Refused)
                Refused.Add(ex.Message);
            status = 400;
        }

        // An empty body is an empty ExportTraceServiceResponse: everything accepted.
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/x-protobuf";
        context.Response.Close();
        return Task.CompletedTask;
    }

    // ExportTraceServiceRequest: 1 resource_spans. ResourceSpans: 1 resource, 2 scope_spans.
    // Resource: 1 attributes. ScopeSpans: 2 spans. Span: 1 trace_id, 2 span_id, 4 parent_span_id,
    // 5 name, 9 attributes. KeyValue: 1 key, 2 value. AnyValue: 1 string_value, 3 int_value.
    private static List<ReceivedSpan> Decode(byte[] request)
    {
        var spans = new List<ReceivedSpan>();
        foreach (var resourceSpans in Embedded(request, 1))
        {
            var resource = Embedded(resourceSpans, 1).Select(message => Attributes(message, 1)).FirstOrDefault()
                           ?? new Dictionary<string, string>();
            foreach (var scopeSpans in Embedded(resourceSpans, 2))
            foreach (var span in Embedded(scopeSpans, 2))
            {
                var fields = Fields(span).ToList();
                string Hex(int number) => Convert.ToHexStringLower(fields.FirstOrDefault(f => f.Number == number).Bytes ?? []);
                spans.Add(new ReceivedSpan(Hex(1), Hex(2), Hex(4),
                    Encoding.UTF8.GetString(fields.FirstOrDefault(f => f.Number == 5).Bytes ?? []),
                    Attributes(span, 9), resource));
            }
        }

        return spans;
    }

    private static Dictionary<string, string> Attributes(byte[] message, int field)
    {
        var attributes = new Dictionary<string, string>();
        foreach (var keyValue in Embedded(message, field))
        {
            var parts = Fields(keyValue).ToList();
            var key = Encoding.UTF8.GetString(parts.FirstOrDefault(f => f.Number == 1).Bytes ?? []);
            var value = Fields(parts.FirstOrDefault(f => f.Number == 2).Bytes ?? []).FirstOrDefault();
            attributes[key] = value.Number switch
            {
                1 => Encoding.UTF8.GetString(value.Bytes!),
                3 => value.Varint.ToString(),
                _ => "",
            };
        }

        return attributes;
    }

    /// <summary>The length-delimited fields numbered <paramref name="number"/>: embedded messages, strings, bytes.</summary>
    private static IEnumerable<byte[]> Embedded(byte[] message, int number) =>
        Fields(message).Where(f => f.Number == number && f.Bytes is not null).Select(f => f.Bytes!);

    /// <summary>The fields of a protobuf message: number, and the bytes of a length-delimited one or the varint.</summary>
    private static IEnumerable<(int Number, byte[]? Bytes, long Varint)> Fields(byte[] message)
    {
        var at = 0;
        while (at < message.Length)
        {
            var tag = ReadVarint(message, ref at);
            var number = (int)(tag >> 3);
            switch (tag & 7)
            {
                case 0:
                    yield return (number, null, ReadVarint(message, ref at));
                    break;
                case 1:
                    at += 8;
                    break;
                case 2:
                    var length = (int)ReadVarint(message, ref at);
                    yield return (number, message[at..(at + length)], 0);
                    at += length;
                    break;
                case 5:
                    at += 4;
                    break;
                default:
                    throw new InvalidDataException($"unexpected protobuf wire type {tag & 7}");
            }
        }
    }

    private static long ReadVarint(byte[] message, ref int at)
    {
        long value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = message[at++];
            value |= (long)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
                return value;
        }
    }
}
