using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using EventCluster.Messages.Commands;
using EventCluster.Messages.Replies;
using EventCluster.Node.Telemetry;

namespace EventCluster.Node.Api;

/// <summary>
/// <c>POST /api/events/batch</c>: many events in one request, as NDJSON (one <c>POST /api/events</c>
/// body per line) or as a JSON array of such bodies. Every event keeps its own id, de-duplication,
/// per-entity order and acknowledgement; the answer holds one result per event in the order sent.
/// A line that is not a valid event gets its own <c>invalid</c> result and the others go on; a body
/// that cannot be read as a whole (a JSON array that is not well-formed) is a 400 and stores nothing.
/// </summary>
public static class BatchEndpoint
{
    /// <summary>Events one request holds at most.</summary>
    public const int MaxEvents = 10_000;

    /// <summary>Largest request body accepted.</summary>
    public const int MaxBodyBytes = 16 * 1024 * 1024;

    /// <summary>The media type of newline-delimited JSON.</summary>
    public const string NdjsonMediaType = "application/x-ndjson";

    /// <summary>The outcome of a line that is not a valid event.</summary>
    public const string Invalid = "invalid";

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>One event of the request: its item number (the line, or the element from 1) and what became of it.</summary>
    private struct Item
    {
        public int Number;
        public SubmitEvent? Command;
        public EventOutcome? Outcome;
    }

    internal static async Task<IResult> SubmitAsync(HttpContext http, ActorRegistry registry, ApiOptions options, ActorSystem system)
    {
        var metrics = NodeMetrics.Of(system);
        var mediaType = http.Request.ContentType?.Split(';', 2)[0].Trim();
        var ndjson = string.Equals(mediaType, NdjsonMediaType, StringComparison.OrdinalIgnoreCase);
        if (!ndjson && !http.Request.HasJsonContentType())
            return ApiResults.Problem(StatusCodes.Status415UnsupportedMediaType, "unsupported media type",
                $"the body of POST /api/events/batch must be NDJSON sent as 'Content-Type: {NdjsonMediaType}' or a JSON array sent as " +
                $"'Content-Type: application/json', not '{http.Request.ContentType ?? "none"}'");

        var body = await EventEndpoints.ReadBodyAsync(http.Request, MaxBodyBytes);
        if (body is null)
            return ApiResults.Problem(StatusCodes.Status413PayloadTooLarge, "request body too large",
                $"the body of POST /api/events/batch may hold at most {MaxBodyBytes} bytes; split it into several requests");

        List<Item> items;
        try
        {
            items = ndjson ? ReadLines(body) : ReadArray(body);
        }
        catch (JsonException ex)
        {
            return ApiResults.Problem(StatusCodes.Status400BadRequest, "malformed batch",
                $"the body must be a JSON array of event objects: the text is not well-formed JSON at line {(ex.LineNumber ?? 0) + 1}, " +
                $"byte {(ex.BytePositionInLine ?? 0) + 1}; nothing was stored");
        }
        catch (BatchTooLargeException)
        {
            return ApiResults.Problem(StatusCodes.Status413PayloadTooLarge, "too many events",
                $"POST /api/events/batch takes at most {MaxEvents} events per request; split it into several requests");
        }

        if (items.Count == 0)
            return ApiResults.Problem(StatusCodes.Status400BadRequest, "empty batch", "the batch holds no events");

        await SubmitAllAsync(registry, items);
        // Events refused by the ingress or their entity are counted there; only what never left this endpoint is counted here.
        foreach (var item in items)
            if (item.Outcome!.Status is Invalid)
                metrics.EventRejected();
        if (items.Any(i => i.Outcome!.IsRetryable))
            http.Response.Headers.RetryAfter = "1";
        return new BatchResult(items);
    }

    /// <summary>Every line that is not blank, as an event or as an invalid item.</summary>
    private static List<Item> ReadLines(byte[] body)
    {
        var items = new List<Item>();
        var span = body.AsSpan();
        var number = 0;
        while (!span.IsEmpty)
        {
            number++;
            var end = span.IndexOf((byte)'\n');
            var line = end < 0 ? span : span[..end];
            span = end < 0 ? [] : span[(end + 1)..];
            if (line.Trim(" \t\r"u8).IsEmpty)
                continue;
            if (items.Count == MaxEvents)
                throw new BatchTooLargeException();
            items.Add(Parse(number, line));
        }

        return items;
    }

    /// <summary>Every element of a JSON array, as an event or as an invalid item; throws <see cref="JsonException"/> when the text is not a well-formed array.</summary>
    private static List<Item> ReadArray(byte[] body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 66 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            throw new JsonException("not an array", null, 0, reader.TokenStartIndex);
        var items = new List<Item>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            if (items.Count == MaxEvents)
                throw new BatchTooLargeException();
            items.Add(Parse(items.Count + 1, body.AsSpan(start, (int)reader.BytesConsumed - start)));
        }

        if (reader.TokenType != JsonTokenType.EndArray || reader.Read())
            throw new JsonException("text after the array", null, 0, reader.BytesConsumed);
        return items;
    }

    private static Item Parse(int number, ReadOnlySpan<byte> json)
    {
        var (command, _, problem) = EventEndpoints.ParseEvent(json);
        return command is null
            ? new Item { Number = number, Outcome = new EventOutcome("", "", Invalid, Reason: problem) }
            : new Item { Number = number, Command = command };
    }

    /// <summary>
    /// Sends the valid events to the node's ingress in batches within <see cref="SubmitEventBatch"/>'s
    /// limits, all at once, and fills in each event's outcome.
    /// </summary>
    private static async Task SubmitAllAsync(ActorRegistry registry, List<Item> items)
    {
        var chunks = new List<(List<int> Slots, Task<object?> Reply)>();
        var slots = new List<int>();
        var events = new List<SubmitEvent>();
        long bytes = 0;
        void Flush()
        {
            if (events.Count == 0)
                return;
            chunks.Add((slots, EventEndpoints.AskIngressAsync(registry, new SubmitEventBatch(Guid.NewGuid().ToString("N"), events))));
            slots = [];
            events = [];
            bytes = 0;
        }

        for (var i = 0; i < items.Count; i++)
        {
            if (items[i].Command is not { } command)
                continue;
            var size = SubmitEventBatch.SizeOf(command);
            if (events.Count == SubmitEventBatch.MaxEvents || bytes + size > SubmitEventBatch.MaxBytes)
                Flush();
            slots.Add(i);
            events.Add(command);
            bytes += size;
        }

        Flush();
        foreach (var (chunkSlots, reply) in chunks)
        {
            var result = await reply as EventBatchResult;
            for (var i = 0; i < chunkSlots.Count; i++)
            {
                var item = items[chunkSlots[i]];
                item.Outcome = result is not null && i < result.Outcomes.Count
                    ? result.Outcomes[i]
                    : new EventOutcome(item.Command!.EntityId, item.Command.EventId, EventOutcome.Unanswered,
                        Reason: $"the cluster did not answer within {EventEndpoints.ClusterTimeout.TotalSeconds:0}s; retry with the same eventId " +
                                "(a repeat is recognised as a duplicate)");
                items[chunkSlots[i]] = item;
            }
        }
    }

    private sealed class BatchTooLargeException : Exception;

    /// <summary>
    /// The answer's shape for the OpenAPI document; <see cref="BatchResult"/> writes these fields
    /// as it streams: counts per outcome, then one result per event in the order sent.
    /// </summary>
    public sealed record BatchAnswer(int Accepted, int Duplicate, int Rejected, int Invalid, int NotStored, int Unanswered,
        IReadOnlyList<BatchItemAnswer> Results);

    /// <summary>One event's result in a <see cref="BatchAnswer"/>: its place in the batch (from 1) and its outcome.</summary>
    public sealed record BatchItemAnswer(int Item, string? EntityId, string? EventId, string Status, long? Version, long? Position,
        string? Node, string? Reason);

    /// <summary>
    /// The answer: counts per outcome, then one result per event in the order sent, written
    /// straight to the response (a batch of 10,000 results builds no document in memory).
    /// </summary>
    private sealed class BatchResult(List<Item> items) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            http.Response.StatusCode = StatusCodes.Status200OK;
            http.Response.ContentType = "application/json; charset=utf-8";
            await using var writer = new Utf8JsonWriter(http.Response.BodyWriter, WriterOptions);
            writer.WriteStartObject();
            foreach (var status in (string[])[EventOutcome.Accepted, EventOutcome.Duplicate, EventOutcome.Rejected, Invalid,
                         EventOutcome.NotStored, EventOutcome.Unanswered])
                writer.WriteNumber(status, items.Count(i => i.Outcome!.Status == status));
            writer.WriteStartArray("results");
            foreach (var item in items)
            {
                var outcome = item.Outcome!;
                writer.WriteStartObject();
                writer.WriteNumber("item", item.Number);
                if (outcome.Status != Invalid)
                {
                    writer.WriteString("entityId", outcome.EntityId);
                    writer.WriteString("eventId", outcome.EventId);
                }

                writer.WriteString("status", outcome.Status);
                if (outcome.Version is { } version)
                    writer.WriteNumber("version", version);
                if (outcome.Position is { } position)
                    writer.WriteNumber("position", position);
                if (outcome.Node is { } node)
                    writer.WriteString("node", node);
                if (outcome.Reason is { } reason)
                    writer.WriteString("reason", reason);
                writer.WriteEndObject();
                if (writer.BytesPending > 16 * 1024)
                    await writer.FlushAsync();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
            await writer.FlushAsync();
        }
    }
}
