using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Hosting;
using EventCluster.Messages.Subscriptions;
using EventCluster.Messages.Validation;
using EventCluster.Node.Hosting;
using EventCluster.Node.Subscriptions;
using Microsoft.Extensions.Primitives;

namespace EventCluster.Node.Api;

/// <summary>
/// The listeners' endpoints: an entity's history, the groups, and the event log as
/// Server-Sent Events (<c>GET /api/events/stream</c>), served by the node's event-log reader.
/// </summary>
public static class ListenerEndpoints
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Maps the endpoints.</summary>
    public static WebApplication MapListenerEndpoints(this WebApplication app)
    {
        app.MapGet("/api/entities/{id}/events", HistoryAsync);
        app.MapGet("/api/groups", GroupsAsync);
        app.MapGet("/api/events/stream", StreamAsync);
        return app;
    }

    private static async Task<IResult> HistoryAsync(string id, HttpContext http, ActorRegistry registry)
    {
        if (EventValidation.CheckEntityId(id) is { } problem)
            return Problem(StatusCodes.Status400BadRequest, "invalid entity id", problem);
        if (UnknownParameter(http, "from", "limit") is { } unknown)
            return unknown;
        if (!TryWhole(http.Request.Query["from"], 1, 1, long.MaxValue, out var from))
            return Problem(StatusCodes.Status400BadRequest, "invalid from", "from must be a version, a whole number of 1 or more");
        if (!TryWhole(http.Request.Query["limit"], GetEntityHistory.DefaultLimit, 1, GetEntityHistory.MaxLimit, out var limit))
            return Problem(StatusCodes.Status400BadRequest, "invalid limit", $"limit must be a whole number from 1 to {GetEntityHistory.MaxLimit}");

        var reply = await AskAsync(registry, new GetEntityHistory(NewRequestId(), id, from, (int)limit));
        return reply switch
        {
            EntityHistoryResult { Exists: false } => Problem(StatusCodes.Status404NotFound, "no such entity", $"entity {id} has not applied any event"),
            EntityHistoryResult history => Results.Json(new { entityId = history.EntityId, events = history.Events }),
            EventLogRequestRefused refused => Refused(http, refused),
            _ => Unavailable(http, $"the node did not read the history of {id} in time"),
        };
    }

    private static async Task<IResult> GroupsAsync(HttpContext http, ActorRegistry registry)
    {
        if (UnknownParameter(http) is { } unknown)
            return unknown;
        var reply = await AskAsync(registry, new GetGroups(NewRequestId()));
        return reply switch
        {
            GroupList list => Results.Json(new { head = list.Head, groups = list.Groups }),
            EventLogRequestRefused refused => Refused(http, refused),
            _ => Unavailable(http, "the node did not list the groups in time"),
        };
    }

    /// <summary>
    /// The event log from a position as <c>text/event-stream</c>: the stored events, an
    /// <c>event: caught-up</c>, then live events as they are committed, with a heartbeat comment
    /// on a quiet stream. <c>Last-Event-ID</c> resumes after that position.
    /// </summary>
    private static async Task StreamAsync(HttpContext http, ActorRegistry registry, NodeSettings settings, StreamSlots slots,
        ILoggerFactory loggers)
    {
        var (after, filter, problem) = ParseStream(http.Request);
        if (problem is not null)
        {
            await problem.ExecuteAsync(http);
            return;
        }

        if (!registry.TryGet<EventLogActor>(out var eventLog))
        {
            await Unavailable(http, "the node's event-log reader is not started yet").ExecuteAsync(http);
            return;
        }

        if (!slots.TryEnter())
        {
            await ApiResults.Unavailable(http, $"this node serves {settings.MaxStreams} streams at most (--max-streams); retry later or on another node",
                "too many streams", retryAfterSeconds: 5).ExecuteAsync(http);
            return;
        }

        var log = loggers.CreateLogger("EventCluster.Node.Api.EventStream");
        try
        {
            await new EventStream(http, eventLog, after, filter, settings, log).RunAsync();
        }
        finally
        {
            slots.Exit();
        }
    }

    /// <summary>The stream's start and filter from the query and <c>Last-Event-ID</c>, or the 400 answer.</summary>
    private static (long After, EventFilter Filter, IResult? Problem) ParseStream(HttpRequest request)
    {
        IResult Bad(string title, string detail) => Problem(StatusCodes.Status400BadRequest, title, detail);

        if (UnknownParameter(request.HttpContext, "from", "type", "entity", "entityPrefix") is { } unknown)
            return (0, EventFilter.All, unknown);
        var types = request.Query["type"].Where(t => t is not null).Select(t => t!).ToList();
        var entity = Single(request.Query["entity"]);
        var prefix = Single(request.Query["entityPrefix"]);
        var filter = new EventFilter(types, entity, prefix);
        if (EventValidation.CheckFilter(filter) is { } filterProblem)
            return (0, filter, Bad("invalid filter", filterProblem));

        if (request.Headers["Last-Event-ID"] is { Count: > 0 } lastEventId)
        {
            return long.TryParse(lastEventId.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var last)
                ? (last, filter, null)
                : (0, filter, Bad("invalid Last-Event-ID", $"Last-Event-ID '{EventValidation.Printable(lastEventId.ToString())}' must be a position, a whole number of 0 or more"));
        }

        var from = Single(request.Query["from"]) ?? "start";
        return Positions.TryParseFrom(from, out var after)
            ? (after, filter, null)
            : (0, filter, Bad("invalid from", $"from '{EventValidation.Printable(from)}' must be start, end or a position (a whole number of 0 or more)"));
    }

    private static IResult? UnknownParameter(HttpContext http, params string[] known)
    {
        var unknown = http.Request.Query.Keys.FirstOrDefault(key => !known.Contains(key, StringComparer.Ordinal));
        if (unknown is not null)
            return Problem(StatusCodes.Status400BadRequest, "unknown parameter",
                $"'{EventValidation.Printable(unknown)}' is not a parameter of {http.Request.Path}" + (known.Length > 0 ? $"; known: {string.Join(", ", known)}" : ""));
        var repeated = http.Request.Query.FirstOrDefault(pair => pair.Key != "type" && pair.Value.Count > 1).Key;
        return repeated is null ? null
            : Problem(StatusCodes.Status400BadRequest, "repeated parameter", $"'{repeated}' may be given once");
    }

    private static string? Single(StringValues values) => values.Count == 0 ? null : values[0];

    private static bool TryWhole(StringValues values, long fallback, long min, long max, out long value)
    {
        value = fallback;
        return values.Count == 0 ||
               (long.TryParse(values[0], NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max);
    }

    private static string NewRequestId() => Guid.NewGuid().ToString("N");

    private static async Task<object?> AskAsync(ActorRegistry registry, object message)
    {
        if (!registry.TryGet<EventLogActor>(out var eventLog))
            return null;
        try
        {
            return await eventLog.Ask<object>(message, EventEndpoints.ClusterTimeout);
        }
        catch (AskTimeoutException)
        {
            return null;
        }
    }

    private static IResult Refused(HttpContext http, EventLogRequestRefused refused) =>
        refused.Retryable ? Unavailable(http, refused.Reason) : Problem(StatusCodes.Status400BadRequest, "request refused", refused.Reason);

    private static IResult Unavailable(HttpContext http, string detail) => ApiResults.Unavailable(http, detail);

    private static IResult Problem(int status, string title, string detail) => ApiResults.Problem(status, title, detail);

    /// <summary>How long a live stream's buffer may stay full before its reader counts as too slow.</summary>
    private static readonly TimeSpan StallLimit = TimeSpan.FromSeconds(2);

    /// <summary>
    /// One Server-Sent Events response: a reader of pages and a writer to the client, joined by a
    /// bounded buffer. Stored events wait for room in the buffer; live ones are only asked for
    /// as far as it has room, and a buffer that stays full for <see cref="StallLimit"/> ends the
    /// stream with a reason, so a slow client costs the node a bounded buffer and nothing else.
    /// </summary>
    private sealed class EventStream(HttpContext http, IActorRef eventLog, long after, EventFilter filter, NodeSettings settings, ILogger log)
    {
        private readonly Channel<(long Position, string Frame)> _buffer = Channel.CreateBounded<(long Position, string Frame)>(
            new BoundedChannelOptions(settings.StreamBuffer) { SingleReader = true, SingleWriter = true });

        private readonly CancellationTokenSource _stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        private string? _disconnectReason;
        private long _lastWritten = -1;

        public async Task RunAsync()
        {
            var response = http.Response;
            response.ContentType = "text/event-stream; charset=utf-8";
            response.Headers.CacheControl = "no-cache";
            response.Headers["X-Accel-Buffering"] = "no";
            await response.Body.FlushAsync(http.RequestAborted);
            var reader = ReadAsync();
            try
            {
                await WriteAsync();
            }
            finally
            {
                await _stop.CancelAsync();
                await reader;
                _stop.Dispose();
            }
        }

        /// <summary>Asks for pages and buffers their events; stored events wait for room, live ones must find it.</summary>
        private async Task ReadAsync()
        {
            var cursor = after;
            var caughtUp = false;
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    var room = ReadEventLog.MaxPage;
                    if (caughtUp)
                    {
                        room = await RoomAsync();
                        if (room == 0)
                        {
                            Disconnect($"too slow: {settings.StreamBuffer} events buffered and not taken for {StallLimit.TotalSeconds:0} s");
                            return;
                        }
                    }

                    var request = new ReadEventLog(NewRequestId(), cursor, filter, room, caughtUp ? 5000 : 0);
                    object page;
                    try
                    {
                        page = await eventLog.Ask<object>(request, TimeSpan.FromSeconds(20), _stop.Token);
                    }
                    catch (AskTimeoutException)
                    {
                        continue;
                    }

                    switch (page)
                    {
                        case EventLogRequestRefused { Retryable: true } refused:
                            log.LogWarning("Event stream of {Client} waits for the journal: {Reason}", http.Connection.RemoteIpAddress, refused.Reason);
                            await Task.Delay(TimeSpan.FromSeconds(1), _stop.Token);
                            continue;
                        case EventLogRequestRefused refused:
                            Disconnect($"refused: {refused.Reason}");
                            return;
                        case EventLogPage { } events:
                            foreach (var record in events.Events.Where(e => e.Position > cursor))
                            {
                                var frame = $"id: {record.Position}\nevent: event\ndata: {JsonSerializer.Serialize(record, Json)}\n\n";
                                if (!caughtUp)
                                    await _buffer.Writer.WriteAsync((record.Position, frame), _stop.Token);
                                else if (!_buffer.Writer.TryWrite((record.Position, frame)))
                                {
                                    Disconnect($"too slow: {settings.StreamBuffer} events buffered and not taken");
                                    return;
                                }

                                cursor = record.Position;
                            }

                            cursor = Math.Max(cursor, events.Through);
                            if (!caughtUp && events.CaughtUp)
                            {
                                caughtUp = true;
                                await _buffer.Writer.WriteAsync((-1, $"event: caught-up\ndata: {{\"position\":{cursor}}}\n\n"), _stop.Token);
                            }

                            break;
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // The client went away, or the writer ended the stream.
            }
            finally
            {
                _buffer.Writer.TryComplete();
            }
        }

        /// <summary>
        /// Free places in the buffer, at most a page; waits up to <see cref="StallLimit"/> for one
        /// when it is full, and answers 0 when it stays full.
        /// </summary>
        private async Task<int> RoomAsync()
        {
            if (_buffer.Reader.Count >= settings.StreamBuffer)
            {
                using var stall = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                stall.CancelAfter(StallLimit);
                try
                {
                    await _buffer.Writer.WaitToWriteAsync(stall.Token);
                }
                catch (OperationCanceledException) when (!_stop.IsCancellationRequested)
                {
                    return 0;
                }
            }

            return Math.Clamp(settings.StreamBuffer - _buffer.Reader.Count, 1, ReadEventLog.MaxPage);
        }

        private void Disconnect(string reason)
        {
            _disconnectReason = reason;
            log.LogWarning("Event stream of {Client} disconnected: {Reason}", http.Connection.RemoteIpAddress, reason);
            _stop.Cancel();
        }

        /// <summary>Writes buffered frames to the client, and a heartbeat comment when nothing was written for a while.</summary>
        private async Task WriteAsync()
        {
            var body = http.Response.Body;
            var heartbeat = TimeSpan.FromSeconds(settings.StreamHeartbeatSeconds);
            try
            {
                // One pending wait at a time: a heartbeat does not start another.
                Task<bool>? ready = null;
                while (true)
                {
                    ready ??= _buffer.Reader.WaitToReadAsync(_stop.Token).AsTask();
                    if (await Task.WhenAny(ready, Task.Delay(heartbeat, _stop.Token)) != ready)
                    {
                        await body.WriteAsync(": heartbeat\n\n"u8.ToArray(), _stop.Token);
                        await body.FlushAsync(_stop.Token);
                        continue;
                    }

                    var more = await ready;
                    ready = null;
                    if (!more)
                        return;
                    var batch = new StringBuilder();
                    var last = -1L;
                    while (batch.Length < 64 * 1024 && _buffer.Reader.TryRead(out var item))
                    {
                        batch.Append(item.Frame);
                        if (item.Position >= 0)
                            last = item.Position;
                    }

                    await body.WriteAsync(Encoding.UTF8.GetBytes(batch.ToString()), _stop.Token);
                    await body.FlushAsync(_stop.Token);
                    if (last >= 0)
                        _lastWritten = last;
                }
            }
            catch (OperationCanceledException)
            {
                if (_disconnectReason is null || http.RequestAborted.IsCancellationRequested)
                    return;
                // Tell the client why, if it still reads; then end the response either way.
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                try
                {
                    var resume = _lastWritten >= 0 ? _lastWritten : after;
                    var reason = JsonSerializer.Serialize(new { reason = $"{_disconnectReason}; reconnect with Last-Event-ID: {resume} to resume", lastEventId = resume }, Json);
                    await body.WriteAsync(Encoding.UTF8.GetBytes($"event: disconnect\ndata: {reason}\n\n"), deadline.Token);
                    await body.FlushAsync(deadline.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or IOException)
                {
                    http.Abort();
                }
            }
        }
    }
}

/// <summary>How many Server-Sent Event streams a node serves at once, bounded by <c>--max-streams</c>.</summary>
public sealed class StreamSlots(NodeSettings settings)
{
    private int _open;

    /// <summary>Streams open now.</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>Takes a slot; false when all are taken.</summary>
    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _open) <= settings.MaxStreams)
            return true;
        Interlocked.Decrement(ref _open);
        return false;
    }

    /// <summary>Gives a slot back.</summary>
    public void Exit() => Interlocked.Decrement(ref _open);
}
