using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EventCluster.Cli.Terminal;
using EventCluster.Client;
using EventCluster.Client.Webhooks;
using EventCluster.Messages.Webhooks;

namespace EventCluster.Cli.Commands;

/// <summary><c>webhooks add|list|show|remove|replay-parked|receive</c>: subscriptions the cluster delivers over HTTP.</summary>
public static class WebhooksCommand
{
    public static async Task<int> RunAsync(Arguments args, ConnectionSettings settings)
    {
        switch (args.Action)
        {
            case "receive":
                return await ReceiveAsync(args.Value<int>("--port"), args.Value<string>("--secret"));
            case "check":
                return Check(args.Required("--acked"), args.Required("--deliveries"), args.Flag("--json"));
        }

        var token = args.Value<string>("--api-token") ?? NonEmpty(Environment.GetEnvironmentVariable("EVENTCLUSTER_API_TOKEN"));
        var json = args.Flag("--json");
        await using var client = settings.Client(token);
        try
        {
            switch (args.Action)
            {
                case "add":
                    var added = await client.AddWebhookAsync(args.Required("--name"), args.Required("--url"), new WebhookOptions
                    {
                        Types = args.Values("--type").ToList(),
                        EntityPrefix = args.Value<string>("--entity-prefix"),
                        Secret = args.Value<string>("--secret"),
                        MaxAttempts = args.Value<int>("--max-attempts"),
                        Concurrency = args.Value<int>("--concurrency"),
                        From = args.Value<long>("--from"),
                    });
                    if (json)
                        Output.WriteJson(added);
                    else
                        Print(added);
                    break;
                case "list":
                    var webhooks = await client.WebhooksAsync();
                    if (json)
                        Output.WriteJson(new { subscriptions = webhooks });
                    else
                        Tables.Write(["name", ">position", ">lag", ">delivered", ">retries", ">parked", "url"],
                            webhooks.Select(w => (IReadOnlyList<string>)[w.Name, w.Position.ToString(), w.Lag.ToString(), w.Delivered.ToString(),
                                w.Retries.ToString(), w.Parked.ToString(), w.Url]));
                    break;
                case "show":
                    var shown = await client.WebhookAsync(args.Required("--name"));
                    if (json)
                        Output.WriteJson(new { subscription = shown.Subscription, parkedEvents = shown.ParkedEvents });
                    else
                    {
                        Print(shown.Subscription);
                        foreach (var parked in shown.ParkedEvents)
                            Console.Out.WriteLine($"  parked {parked.Position}: {parked.EntityId} v{parked.Version} {parked.EventId}, {parked.Attempts} attempts, {parked.LastError} ({parked.ParkedAt:O})");
                    }

                    break;
                case "remove":
                    var name = args.Required("--name");
                    await client.RemoveWebhookAsync(name);
                    Done($"removed {name}", json);
                    break;
                case "replay-parked":
                    Done(await client.ReplayParkedAsync(args.Required("--name")), json);
                    break;
                default:
                    throw new UsageException($"'webhooks' needs add, list, show, remove, replay-parked, receive or check{(args.Action is null ? "" : $", not '{args.Action}'")}");
            }

            return ExitCodes.Success;
        }
        catch (ArgumentException ex)
        {
            throw new UsageException(ex.Message);
        }
        catch (WebhookRefusedException refused)
        {
            Output.Error(refused.Reason);
            return refused.Status == 400 ? ExitCodes.Usage : ExitCodes.Rejected;
        }
    }

    private static void Done(string what, bool json)
    {
        if (json)
            Output.WriteJson(new { done = what });
        else
            Console.Out.WriteLine(what);
    }

    private static void Print(WebhookInfo webhook) =>
        Console.Out.WriteLine($"""
            name:          {webhook.Name}
            url:           {webhook.Url}
            types:         {(webhook.Types.Count == 0 ? "all" : string.Join(", ", webhook.Types))}
            entity prefix: {webhook.EntityPrefix ?? "-"}
            signed:        {(webhook.HasSecret ? "yes (secret set)" : "no")}
            max attempts:  {webhook.MaxAttempts}
            concurrency:   {webhook.Concurrency}
            position:      {webhook.Position} (lag {webhook.Lag})
            delivered:     {webhook.Delivered}
            retries:       {webhook.Retries}
            parked:        {webhook.Parked}
            last error:    {webhook.LastError ?? "-"}
            runner:        {webhook.Runner ?? "-"}
            """);

    /// <summary>
    /// A small receiver for trying webhooks out: answers 200 to every POST on <paramref name="port"/>
    /// and prints one JSON line per delivery with its headers' subscription, event id and
    /// position, and with a secret whether the signature verified. Ctrl-C stops it.
    /// </summary>
    private static async Task<int> ReceiveAsync(int port, string? secret)
    {
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://+:{port}/");
        try
        {
            listener.Start();
        }
        catch (HttpListenerException)
        {
            listener.Prefixes.Clear();
            listener.Prefixes.Add($"http://localhost:{port}/");
            listener.Start();
        }

        Console.Error.WriteLine($"receiving webhooks on port {port}; Ctrl-C stops");
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        using var registration = stop.Token.Register(listener.Stop);
        while (!stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                break;
            }

            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            var bytes = body.ToArray();
            bool? verified = secret is null
                ? null
                : CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(context.Request.Headers["EventCluster-Signature"] ?? ""),
                    Encoding.ASCII.GetBytes("sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), bytes))));
            context.Response.StatusCode = verified == false ? 401 : 200;
            context.Response.Close();
            Console.Out.WriteLine(JsonSerializer.Serialize(new
            {
                subscription = context.Request.Headers["EventCluster-Subscription"],
                eventId = context.Request.Headers["EventCluster-Event-Id"],
                position = context.Request.Headers["EventCluster-Position"],
                signatureVerified = verified,
                @event = JsonDocument.Parse(bytes).RootElement,
            }, Output.JsonLine));
        }

        return ExitCodes.Success;
    }

    /// <summary>
    /// Compares what <c>webhooks receive</c> printed with an acked file: every acknowledged event
    /// delivered at least once, each entity's versions arriving in order (a version only after
    /// every earlier one arrived at least once), and the repeats counted. Exit 1 when an event is
    /// missing or out of order.
    /// </summary>
    private static int Check(string ackedPath, string deliveriesPath, bool json)
    {
        var acked = AckedRecord.ReadAll(ackedPath);
        if (!File.Exists(deliveriesPath))
            throw new UsageException($"file '{deliveriesPath}' does not exist");
        var deliveries = new List<(string EntityId, long Version, string EventId)>();
        foreach (var line in File.ReadLines(deliveriesPath).Where(l => l.Length > 0))
        {
            try
            {
                var e = JsonDocument.Parse(line).RootElement.GetProperty("event");
                deliveries.Add((e.GetProperty("entityId").GetString()!, e.GetProperty("version").GetInt64(), e.GetProperty("eventId").GetString()!));
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new UsageException($"{deliveriesPath}: not a line of 'webhooks receive': {line[..Math.Min(line.Length, 80)]}");
            }
        }

        var delivered = deliveries.Select(d => d.EventId).ToHashSet(StringComparer.Ordinal);
        var missing = acked.Where(a => !delivered.Contains(a.EventId)).ToList();
        var outOfOrder = new List<string>();
        foreach (var entity in deliveries.GroupBy(d => d.EntityId, StringComparer.Ordinal))
        {
            var highest = 0L;
            foreach (var (_, version, _) in entity)
            {
                if (version > highest + 1)
                    outOfOrder.Add($"{entity.Key}: v{version} arrived before v{highest + 1}");
                highest = Math.Max(highest, version);
            }
        }

        var repeats = deliveries.Count - delivered.Count;
        var ok = missing.Count == 0 && outOfOrder.Count == 0;
        if (json)
            Output.WriteJson(new
            {
                acked = acked.Count,
                deliveries = deliveries.Count,
                missing = missing.Count,
                repeats,
                outOfOrder = outOfOrder.Count,
                ok,
                examples = missing.Take(5).Select(m => $"missing {m.EntityId} {m.EventId}").Concat(outOfOrder.Take(5)).ToList(),
            });
        else
        {
            Console.Out.WriteLine($"acked: {acked.Count}  deliveries: {deliveries.Count}  missing: {missing.Count}  repeats: {repeats}  out of order: {outOfOrder.Count}");
            foreach (var example in missing.Take(5).Select(m => $"missing {m.EntityId} {m.EventId}").Concat(outOfOrder.Take(5)))
                Console.Out.WriteLine($"  {example}");
            Console.Out.WriteLine(ok ? "OK: every acknowledged event delivered at least once, in order per entity" : "FAILED");
        }

        return ok ? ExitCodes.Success : ExitCodes.Rejected;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
