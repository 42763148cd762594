using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;
using EventCluster.Client;
using EventCluster.Client.Subscriptions;
using EventCluster.Client.Webhooks;
using EventCluster.Messages.Subscriptions;
using EventCluster.Messages.Webhooks;

namespace EventCluster.Cli.Terminal;

/// <summary>
/// Every command of <c>eventcluster</c>, its typed options, their defaults and range rules, for
/// System.CommandLine: it parses, prints <c>--help</c> (defaults included) for each command and
/// answers <c>--version</c>. A value out of range is a parse error naming the option (exit 2).
/// </summary>
public static class CommandTree
{
    /// <summary>How long a command waits for the cluster without <c>--timeout</c>; <c>load</c> has its own, per event.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How long <c>load</c> keeps retrying one event without <c>--timeout</c>.</summary>
    public static readonly TimeSpan DefaultLoadTimeout = TimeSpan.FromSeconds(120);

    /// <summary>The root command; <paramref name="run"/> runs whichever command was parsed.</summary>
    public static RootCommand Build(Func<ParseResult, Task<int>> run)
    {
        var root = new RootCommand("""
            eventcluster: send events to an EventCluster cluster, read them back, subscribe to them and manage its webhooks.

            Exit codes: 0 success, 1 rejected or verification failed, 2 bad usage or input (nothing sent),
            3 cluster unavailable: unreachable, timed out, or its journal could not store the event (send it again with the same id).
            """);
        Global(root, Text("--seeds", "host:port,...",
            $"Seed nodes to contact (env EVENTCLUSTER_SEEDS, default {string.Join(",", EventClusterClientOptions.DefaultSeeds)})"));
        Global(root, Seconds("--timeout", "SECONDS",
            $"How long to wait for the cluster (send/get/status/verify/history/groups/webhooks: {DefaultTimeout.TotalSeconds:0}, load: {DefaultLoadTimeout.TotalSeconds:0} per event)"));
        Global(root, Text("--tls-certificate", "PFX", "TLS with mutual authentication: the nodes' .pfx (env EVENTCLUSTER_TLS_CERTIFICATE)"));
        Global(root, Text("--tls-password", "PW", "Password of the .pfx (env EVENTCLUSTER_TLS_PASSWORD)"));

        var json = () => Flag("--json", "Print JSON instead of text");
        root.Add(Leaf("send", "Submit one event, or every event of an NDJSON file, retrying with the same event ids until acknowledged", run,
            Text("--entity", "ID", "The entity the event is for (required without --file)"),
            Text("--type", "TYPE", "The event's type (required without --file)"),
            Text("--data", "JSON", "The event's data: a JSON object, merged into the entity's data", fallback: "{}"),
            Text("--id", "EVENT_ID", "The event id (default: a new one); a repeat is acknowledged as a duplicate"),
            Text("--file", "EVENTS.ndjson", "Send every line of the file, each a POST /api/events body {entityId,type,eventId,data}, in batches; " +
                "the file is checked first (a bad line: exit 2, nothing sent), then streamed"),
            Text("--acked", "FILE", "With --file: write each acknowledged event as a JSON line to FILE (for verify)"),
            json()));
        root.Add(Leaf("get", "Print an entity's state", run,
            Text("--entity", "ID", "The entity", required: true), json()));
        root.Add(Leaf("status", "Members, leader and shard placement", run, json()));
        root.Add(Leaf("load", "Send many events with a bounded number in flight and report throughput and latency", run,
            Whole("--events", "N", "Events to send", 10_000L, 1L, 100_000_000L),
            Whole("--entities", "K", "Entities to spread them over", 100L, 1L, 100_000_000L),
            Whole("--concurrency", "C", "Events in flight at once", 256, 1, 10_000),
            Whole("--rate", "R", "Events per second at most; 0: as fast as acknowledged", 0L, 0L, 10_000_000L),
            Text("--acked", "FILE", "Write each acknowledged event as a JSON line to FILE (for verify)"),
            Text("--type", "TYPE", "The events' type", fallback: "load"),
            Text("--entity-prefix", "P", "Prefix of the entity ids (default load-<run>-)"),
            Flag("--echo", "Round trips to non-persistent echo entities instead of events: the cluster without the journal"),
            json()));
        root.Add(Leaf("verify", "Check that every event of an --acked file is in its entity's journal exactly once, in order", run,
            Text("--acked", "FILE", "The file load --acked wrote", required: true), json()));
        root.Add(Leaf("history", "An entity's events in version order (one page)", run,
            Text("--entity", "ID", "The entity", required: true),
            Whole("--from", "VERSION", "The first version", 1L, 1L, long.MaxValue),
            Whole("--limit", "N", $"Events at most, 1 to {GetEntityHistory.MaxLimit}", GetEntityHistory.DefaultLimit, 1, GetEntityHistory.MaxLimit),
            json()));
        root.Add(Leaf("subscribe", "The events after a position, stored then live, in position order; Ctrl-C exits 0", run,
            From("Where to start: start (= 0, every event), end (only new ones) or after POSITION"),
            Many("--type", "TYPE", "Only events of this type (repeatable)"),
            Text("--entity", "ID", "Only this entity's events"),
            Text("--entity-prefix", "PREFIX", "Only events of entities whose id starts with PREFIX"),
            Text("--group", "NAME", "A consumer group: the cluster keeps the position; a second subscriber waits as a standby"),
            WholeOrNone("--max", "N", "Exit after N events (default: never)", 1L, long.MaxValue),
            json()));
        root.Add(Leaf("groups", "Every consumer group with its position and lag", run, json()));

        var token = () => Text("--api-token", "TOKEN", "A token of the nodes with the admin scope (env EVENTCLUSTER_API_TOKEN)");
        root.Add(Leaf("erase", "Erase an entity: its events become tombstones, its state and snapshots go, it takes no more events", run,
            Text("--entity", "ID", "The entity", required: true), token(), json()));
        var name = () => Text("--name", "NAME", "The subscription's name", required: true);
        var webhooks = new Command("webhooks", "Subscriptions the cluster delivers by HTTP POST");
        webhooks.Add(Leaf("add", "Add a webhook subscription", run,
            name(),
            Text("--url", "URL", "The http(s) URL each event is posted to", required: true),
            Many("--type", "TYPE", "Only events of this type (repeatable)"),
            Text("--entity-prefix", "P", "Only events of entities whose id starts with P"),
            From("Where delivery starts: start (= 0, every event), end (only new ones) or after POSITION"),
            Text("--secret", "S", "Sign each delivery with HMAC-SHA256 of this secret"),
            Whole("--max-attempts", "N", $"Attempts before an event is parked, 1 to {WebhookOptions.MaxAttemptsLimit}",
                WebhookDefinition.DefaultMaxAttempts, 1, WebhookOptions.MaxAttemptsLimit),
            Whole("--concurrency", "N", $"Entities delivered in parallel, 1 to {WebhookOptions.MaxConcurrency}",
                WebhookDefinition.DefaultConcurrency, 1, WebhookOptions.MaxConcurrency),
            token(), json()));
        webhooks.Add(Leaf("list", "Every webhook subscription with its position, lag and counts", run, token(), json()));
        webhooks.Add(Leaf("show", "One webhook subscription with its parked events", run, name(), token(), json()));
        webhooks.Add(Leaf("remove", "Remove a webhook subscription", run, name(), token(), json()));
        webhooks.Add(Leaf("replay-parked", "Deliver a subscription's parked events again, in position order", run, name(), token(), json()));
        webhooks.Add(Leaf("receive", "A small receiver that prints each delivery as a JSON line", run,
            Whole("--port", "PORT", "Port to listen on", 8080, 1, 65535),
            Text("--secret", "S", "Verify each delivery's signature with this secret")));
        webhooks.Add(Leaf("check", "Every acked event received, in order per entity; repeats counted", run,
            Text("--acked", "FILE", "The file load --acked wrote", required: true),
            Text("--deliveries", "FILE", "The JSON lines webhooks receive printed", required: true),
            json()));
        root.Add(webhooks);

        var certs = new Command("certs", "Development TLS certificates");
        certs.Add(Leaf("create", "A development TLS certificate for a cluster (DIR/eventcluster.pfx and its password)", run,
            Text("--out", "DIR", "The directory to write to", required: true)));
        certs.Add(Leaf("http", "A development HTTPS certificate for the nodes' HTTP port (DIR/http.pem with its key; DIR/http-ca.pem for clients)", run,
            Text("--out", "DIR", "The directory to write to", required: true),
            Many("--host", "NAME", "A host name or address clients use besides localhost, 127.0.0.1 and ::1 (repeatable)")));
        root.Add(certs);

        var tokens = new Command("tokens", "API tokens for the nodes' --api-tokens file");
        tokens.Add(Leaf("hash", "Print the SHA-256 (hex) of the token read from standard input", run));
        root.Add(tokens);

        return root;
    }

    private static Command Leaf(string name, string description, Func<ParseResult, Task<int>> run, params Option[] options)
    {
        var command = new Command(name, description);
        foreach (var option in options)
            command.Add(option);
        command.SetAction((parse, _) => run(parse));
        return command;
    }

    private static void Global(Command root, Option option)
    {
        option.Recursive = true;
        root.Add(option);
    }

    private static Option<string> Text(string name, string helpName, string description, bool required = false, string? fallback = null)
    {
        var option = new Option<string>(name) { HelpName = helpName, Description = description, Required = required };
        if (fallback is not null)
            option.DefaultValueFactory = _ => fallback;
        return option;
    }

    private static Option<string[]> Many(string name, string helpName, string description) =>
        new(name) { HelpName = helpName, Description = description, Arity = ArgumentArity.OneOrMore };

    private static Option<bool> Flag(string name, string description) => new(name) { Description = description };

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>; thousands separators allowed.</summary>
    private static Option<T> Whole<T>(string name, string helpName, string description, T fallback, T min, T max)
        where T : struct, IBinaryInteger<T> =>
        new(name)
        {
            HelpName = helpName, Description = description, DefaultValueFactory = _ => fallback,
            CustomParser = result => TryWhole(result, name, min, max, out var value) ? value : default,
        };

    private static Option<long?> WholeOrNone(string name, string helpName, string description, long min, long max) =>
        new(name)
        {
            HelpName = helpName, Description = description,
            CustomParser = result => TryWhole(result, name, min, max, out var value) ? value : null,
        };

    private static bool TryWhole<T>(ArgumentResult result, string name, T min, T max, out T value)
        where T : struct, IBinaryInteger<T>
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (T.TryParse(text, NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out value) && value >= min && value <= max)
            return true;
        result.AddError($"{name} '{text}' must be a whole number from {min} to {max}");
        return false;
    }

    /// <summary><c>--from start|end|POSITION</c> as the position to read after (<see cref="Positions.TryParseFrom"/>).</summary>
    private static Option<long> From(string description) =>
        new("--from")
        {
            HelpName = "start|end|POSITION", Description = description, DefaultValueFactory = _ => SubscribeOptions.Start,
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                if (Positions.TryParseFrom(text, out var after))
                    return after;
                result.AddError($"--from '{text}' must be start, end or a position (a whole number of 0 or more)");
                return 0;
            },
        };

    /// <summary>A number of seconds above 0 and up to a day, as a time span; null when not given.</summary>
    private static Option<TimeSpan?> Seconds(string name, string helpName, string description) =>
        new(name)
        {
            HelpName = helpName, Description = description,
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds is > 0 and <= 86_400)
                    return TimeSpan.FromSeconds(seconds);
                result.AddError($"{name} '{text}' must be a number of seconds above 0, up to 86400");
                return null;
            },
        };
}
