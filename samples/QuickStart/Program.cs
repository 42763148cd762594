using EventCluster.Client;
using EventCluster.Client.Subscriptions;

var seeds = (Environment.GetEnvironmentVariable("EVENTCLUSTER_SEEDS") ?? "127.0.0.1:4053").Split(',');
await using var client = new EventClusterClient(new EventClusterClientOptions { Seeds = seeds });

var order = args.FirstOrDefault() ?? "order-1";
var ack = await client.SendAsync(order, "OrderPlaced", new { amount = 42 });
Console.WriteLine($"stored {ack.EventId} as version {ack.Version} at position {ack.Position}");

var state = await client.GetAsync(order);
Console.WriteLine($"{order} is at version {state.Version}: {state.Data}");

await foreach (var e in client.HistoryAsync(order))
    Console.WriteLine($"history: v{e.Version} {e.Type} {e.Data}");

// Every event of this order from the start of the log, then live ones; stop after the first.
await foreach (var e in client.SubscribeAsync(new SubscribeOptions { EntityId = order }))
{
    Console.WriteLine($"subscribed: {e.Position} {e.EntityId} v{e.Version} {e.Type}");
    break;
}
