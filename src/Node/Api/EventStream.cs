using System.Buffers;
using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using Akka.Actor;
using EventCluster.Messages.Subscriptions;

namespace EventCluster.Node.Api;

/// <summary>
/// One Server-Sent Events response: a reader of pages and a writer to the client, joined by a
/// bounded buffer. Stored events wait for room in the buffer; live ones are only asked for as far
/// as it has room, and a buffer that stays full for <see cref="StallLimit"/> ends the stream with
/// an <c>event: disconnect</c> naming the reason, so a slow client costs the node a bounded buffer
/// and nothing else.
/// </summary>
internal sealed class EventStream(HttpContext http, IActorRef eventLog, long after, EventFilter filter, ApiOptions options, ILogger log)
{
    /// <summary>How long a live stream's buffer may stay full before its reader counts as too slow.</summary>
    public static readonly TimeSpan StallLimit = TimeSpan.FromSeconds(2);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly byte[] HeartbeatComment = ": heartbeat\n\n"u8.ToArray();

    private readonly Channel<SseItem<object>> _buffer = Channel.CreateBounded<SseItem<object>>(
        new BoundedChannelOptions(options.StreamBuffer) { SingleReader = true, SingleWriter = true });

    private readonly CancellationTokenSource _stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
    private Utf8JsonWriter? _json;
    private string? _disconnectReason;
    private long _lastWritten = -1;

    private sealed record CaughtUp(long Position);

    private sealed record Disconnected(string Reason, long LastEventId);

    /// <summary>Serves the stream until the client goes away or the stream is ended with a reason.</summary>
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
            try
            {
                await SseFormatter.WriteAsync(ItemsAsync(_stop.Token), response.Body, FormatData, _stop.Token);
            }
            catch (OperationCanceledException)
            {
                // The client went away, or the reader ended the stream.
            }
            finally
            {
                await _stop.CancelAsync();
                await reader;
            }

            if (_disconnectReason is not null && !http.RequestAborted.IsCancellationRequested)
                await WriteDisconnectAsync(_disconnectReason);
        }
        finally
        {
            _stop.Dispose();
            _json?.Dispose();
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
                        Disconnect($"too slow: {options.StreamBuffer} events buffered and not taken for {StallLimit.TotalSeconds:0} s");
                        return;
                    }
                }

                var request = new ReadEventLog(Guid.NewGuid().ToString("N"), cursor, filter, room, caughtUp ? 5000 : 0);
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
                            var item = new SseItem<object>(record, "event") { EventId = record.Position.ToString(CultureInfo.InvariantCulture) };
                            if (!caughtUp)
                                await _buffer.Writer.WriteAsync(item, _stop.Token);
                            else if (!_buffer.Writer.TryWrite(item))
                            {
                                Disconnect($"too slow: {options.StreamBuffer} events buffered and not taken");
                                return;
                            }

                            cursor = record.Position;
                        }

                        cursor = Math.Max(cursor, events.Through);
                        if (!caughtUp && events.CaughtUp)
                        {
                            caughtUp = true;
                            await _buffer.Writer.WriteAsync(new SseItem<object>(new CaughtUp(cursor), "caught-up"), _stop.Token);
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
        if (_buffer.Reader.Count >= options.StreamBuffer)
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

        return Math.Clamp(options.StreamBuffer - _buffer.Reader.Count, 1, ReadEventLog.MaxPage);
    }

    private void Disconnect(string reason)
    {
        _disconnectReason = reason;
        log.LogWarning("Event stream of {Client} disconnected: {Reason}", http.Connection.RemoteIpAddress, reason);
        _stop.Cancel();
    }

    /// <summary>
    /// The buffered items for <see cref="SseFormatter"/>, and a heartbeat comment when none came
    /// for a while. The formatter has no comment lines, so the heartbeat is written here, while the
    /// formatter waits for the next item and nothing else writes to the body.
    /// </summary>
    private async IAsyncEnumerable<SseItem<object>> ItemsAsync([EnumeratorCancellation] CancellationToken cancel)
    {
        var body = http.Response.Body;
        var heartbeat = TimeSpan.FromSeconds(options.StreamHeartbeatSeconds);
        // One pending wait at a time: a heartbeat does not start another.
        Task<bool>? ready = null;
        while (true)
        {
            while (_buffer.Reader.TryRead(out var item))
            {
                yield return item;
                // The formatter asks for the next item only after writing and flushing this one.
                if (item.Data is EventRecord record)
                    _lastWritten = record.Position;
            }

            ready ??= _buffer.Reader.WaitToReadAsync(cancel).AsTask();
            if (await Task.WhenAny(ready, Task.Delay(heartbeat, cancel)) != ready)
            {
                await body.WriteAsync(HeartbeatComment, cancel);
                await body.FlushAsync(cancel);
                continue;
            }

            var more = await ready;
            ready = null;
            if (!more)
                yield break;
        }
    }

    /// <summary>An item's data line: its payload as JSON.</summary>
    private void FormatData(SseItem<object> item, IBufferWriter<byte> destination)
    {
        if (_json is null)
            _json = new Utf8JsonWriter(destination);
        else
            _json.Reset(destination);
        JsonSerializer.Serialize(_json, item.Data, item.Data.GetType(), Json);
        _json.Flush();
    }

    /// <summary>Tells the client why the stream ends and where to resume, if it still reads; ends the response either way.</summary>
    private async Task WriteDisconnectAsync(string reason)
    {
        var resume = _lastWritten >= 0 ? _lastWritten : after;
        var item = new SseItem<object>(new Disconnected($"{reason}; reconnect with Last-Event-ID: {resume} to resume", resume), "disconnect");
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await SseFormatter.WriteAsync(Once(item), http.Response.Body, FormatData, deadline.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            http.Abort();
        }
    }

    private static async IAsyncEnumerable<SseItem<object>> Once(SseItem<object> item)
    {
        // Nothing to wait for; the formatter takes only an asynchronous sequence.
        await Task.CompletedTask;
        yield return item;
    }
}
