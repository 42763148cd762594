using System.CommandLine;

namespace EventCluster.Cli.Terminal;

/// <summary>
/// Every command of <c>eventcluster</c>, its options and their help, for System.CommandLine:
/// it parses, prints <c>--help</c> for each command, answers <c>--version</c> and suggests
/// the closest name for a misspelt one.
/// </summary>
public static class CommandTree
{
    /// <summary>Options every command takes.</summary>
    public static readonly IReadOnlyList<string> GlobalOptions = ["--seeds", "--timeout", "--tls-certificate", "--tls-password"];

    /// <summary>The root command; <paramref name="run"/> runs whichever command was parsed.</summary>
    public static RootCommand Build(Func<ParseResult, Task<int>> run)
    {
        var root = new RootCommand("""
            eventcluster: send events to an EventCluster cluster, read them back, subscribe to them and manage its webhooks.

            Exit codes: 0 success, 1 rejected or verification failed, 2 bad usage or input (nothing sent),
            3 cluster unreachable, timed out, or its journal could not store the event.
            """);
        Add(root, Value("--seeds", "host:port,...", "Seed nodes to contact (env EVENTCLUSTER_SEEDS, default 127.0.0.1:4053)"), recursive: true);
        Add(root, Value("--timeout", "SECONDS", "How long to wait for the cluster (send/get/status/verify/history: 30, load: 120 per event)"), recursive: true);
        Add(root, Value("--tls-certificate", "PFX", "TLS with mutual authentication: the nodes' .pfx (env EVENTCLUSTER_TLS_CERTIFICATE)"), recursive: true);
        Add(root, Value("--tls-password", "PW", "Password of the .pfx (env EVENTCLUSTER_TLS_PASSWORD)"), recursive: true);

        var json = () => Flag("--json", "Print JSON instead of text");
        root.Add(Leaf("send", "Submit one event, retrying with the same event id until it is acknowledged", run,
            Value("--entity", "ID", "The entity the event is for", required: true),
            Value("--type", "TYPE", "The event's type", required: true),
            Value("--data", "JSON", "The event's data: a JSON object, merged into the entity's data (default {})"),
            Value("--id", "EVENT_ID", "The event id (default: a new one); a repeat is acknowledged as a duplicate"),
            json()));
        root.Add(Leaf("get", "Print an entity's state", run,
            Value("--entity", "ID", "The entity", required: true), json()));
        root.Add(Leaf("status", "Members, leader and shard placement", run, json()));
        root.Add(Leaf("load", "Send many events with a bounded number in flight and report throughput and latency", run,
            Value("--events", "N", "Events to send (default 10000)"),
            Value("--entities", "K", "Entities to spread them over (default 100)"),
            Value("--concurrency", "C", "Events in flight at once (default 256)"),
            Value("--rate", "R", "Events per second at most (default: as fast as acknowledged)"),
            Value("--acked", "FILE", "Write each acknowledged event as a JSON line to FILE (for verify)"),
            Value("--type", "TYPE", "The events' type (default load)"),
            Value("--entity-prefix", "P", "Prefix of the entity ids (default load-<run>-)"),
            Flag("--echo", "Round trips to non-persistent echo entities instead of events: the cluster without the journal"),
            json()));
        root.Add(Leaf("verify", "Check that every event of an --acked file is in its entity's journal exactly once, in order", run,
            Value("--acked", "FILE", "The file load --acked wrote", required: true), json()));
        root.Add(Leaf("history", "An entity's events in version order (one page)", run,
            Value("--entity", "ID", "The entity", required: true),
            Value("--from", "VERSION", "The first version (default 1)"),
            Value("--limit", "N", "Events at most, 1 to 1000 (default 100)"),
            json()));
        root.Add(Leaf("subscribe", "The events after a position, stored then live, in position order; Ctrl-C exits 0", run,
            Value("--from", "start|end|POSITION", "Where to start: start (all, the default), end (only new ones) or after POSITION"),
            Many("--type", "TYPE", "Only events of this type (repeatable)"),
            Value("--entity", "ID", "Only this entity's events"),
            Value("--entity-prefix", "PREFIX", "Only events of entities whose id starts with PREFIX"),
            Value("--group", "NAME", "A consumer group: the cluster keeps the position; a second subscriber waits as a standby"),
            Value("--max", "N", "Exit after N events"),
            json()));
        root.Add(Leaf("groups", "Every consumer group with its position and lag", run, json()));

        var token = () => Value("--api-token", "TOKEN", "The nodes' API token (env EVENTCLUSTER_API_TOKEN)");
        var name = () => Value("--name", "NAME", "The subscription's name", required: true);
        var webhooks = new Command("webhooks", "Subscriptions the cluster delivers by HTTP POST");
        webhooks.Add(Leaf("add", "Add a webhook subscription", run,
            name(),
            Value("--url", "URL", "The http(s) URL each event is posted to", required: true),
            Many("--type", "TYPE", "Only events of this type (repeatable)"),
            Value("--entity-prefix", "P", "Only events of entities whose id starts with P"),
            Value("--from", "start|end|POSITION", "Where delivery starts (default start)"),
            Value("--secret", "S", "Sign each delivery with HMAC-SHA256 of this secret"),
            Value("--max-attempts", "N", "Attempts before an event is parked, 1 to 100 (default 10)"),
            Value("--concurrency", "N", "Entities delivered in parallel, 1 to 256 (default 16)"),
            token(), json()));
        webhooks.Add(Leaf("list", "Every webhook subscription with its position, lag and counts", run, token(), json()));
        webhooks.Add(Leaf("show", "One webhook subscription with its parked events", run, name(), token(), json()));
        webhooks.Add(Leaf("remove", "Remove a webhook subscription", run, name(), token(), json()));
        webhooks.Add(Leaf("replay-parked", "Deliver a subscription's parked events again, in position order", run, name(), token(), json()));
        webhooks.Add(Leaf("receive", "A small receiver that prints each delivery as a JSON line", run,
            Value("--port", "PORT", "Port to listen on (default 8080)"),
            Value("--secret", "S", "Verify each delivery's signature with this secret")));
        webhooks.Add(Leaf("check", "Every acked event received, in order per entity; repeats counted", run,
            Value("--acked", "FILE", "The file load --acked wrote", required: true),
            Value("--deliveries", "FILE", "The JSON lines webhooks receive printed", required: true),
            json()));
        root.Add(webhooks);

        var certs = new Command("certs", "Development TLS certificates");
        certs.Add(Leaf("create", "A development TLS certificate for a cluster (DIR/eventcluster.pfx and its password)", run,
            Value("--out", "DIR", "The directory to write to", required: true)));
        root.Add(certs);
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

    private static void Add(Command command, Option option, bool recursive)
    {
        option.Recursive = recursive;
        command.Add(option);
    }

    private static Option<string> Value(string name, string helpName, string description, bool required = false) =>
        new(name) { HelpName = helpName, Description = description, Required = required };

    private static Option<string[]> Many(string name, string helpName, string description) =>
        new(name) { HelpName = helpName, Description = description, Arity = ArgumentArity.OneOrMore };

    private static Option<bool> Flag(string name, string description) => new(name) { Description = description };
}
