using System.Globalization;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using Akka.Event;
using EventCluster.Messages.Journal;
using EventCluster.Messages.Serialization;
using EventCluster.Messages.Subscriptions;
using EventCluster.Messages.Validation;
using EventCluster.Node.Journal;

namespace EventCluster.Node.Entities;

/// <summary>Events of <see cref="Type"/> are erased once they are older than <see cref="Age"/>.</summary>
public sealed record RetentionRule(string Type, TimeSpan Age)
{
    /// <summary>
    /// Rules as <c>--retention</c> takes them: <c>TYPE=AGE,...</c>, each age a whole number with
    /// <c>s</c>, <c>m</c>, <c>h</c> or <c>d</c> (<c>audit=30d,session=12h</c>); throws
    /// <see cref="FormatException"/> saying what is wrong.
    /// </summary>
    public static IReadOnlyList<RetentionRule> Parse(string text)
    {
        var rules = new List<RetentionRule>();
        foreach (var item in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = item.Split('=', 2, StringSplitOptions.TrimEntries);
            if (parts.Length != 2)
                throw new FormatException($"'{item}' must be TYPE=AGE, for example audit=30d");
            if (EventValidation.CheckType(parts[0]) is { } problem)
                throw new FormatException(problem);
            if (rules.Any(rule => rule.Type == parts[0]))
                throw new FormatException($"event type '{parts[0]}' is given twice");
            rules.Add(new RetentionRule(parts[0], ParseAge(parts[1])));
        }

        return rules.Count > 0 ? rules : throw new FormatException("no rule given; the form is TYPE=AGE,... for example audit=30d,session=12h");
    }

    private static TimeSpan ParseAge(string age)
    {
        var unit = age.Length > 1 ? age[^1] : ' ';
        if (!long.TryParse(age.AsSpan(0, Math.Max(0, age.Length - 1)), NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count < 1)
            throw new FormatException($"age '{age}' must be a whole number of 1 or more followed by s, m, h or d");
        return unit switch
        {
            's' => TimeSpan.FromSeconds(count),
            'm' => TimeSpan.FromMinutes(count),
            'h' => TimeSpan.FromHours(count),
            'd' => TimeSpan.FromDays(count),
            _ => throw new FormatException($"age '{age}' must end in s, m, h or d"),
        };
    }
}

/// <summary>
/// Retention: erases single events of the configured types once they are older than their age,
/// as tombstones that keep their position, version and event id (so a resend of the id is still a
/// duplicate) but lose their type and data. One runs in the cluster (a singleton). It reads the
/// log forward from where it got to, per rule, on the journal's worker threads, and stops at the
/// first event not old enough yet; the node's readers are told which positions it erased.
/// </summary>
/// <remarks>
/// Positions are commit-ordered and events are stamped when written, so a scan in position order
/// meets them nearly in age order; an event written on a node whose clock was behind is erased at
/// a later run. An entity's state keeps what erased events folded into it.
/// </remarks>
public sealed class RetentionJob : ReceiveActor, IWithTimers
{
    /// <summary>The singleton's name.</summary>
    public const string Name = "retention";

    /// <summary>Rows one run reads per rule at most, so that a first run over a long journal is spread over several.</summary>
    public const int RowsPerRun = 20_000;

    private const int RowsPerQuery = 1000;

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly JournalDatabase _database;
    private readonly IReadOnlyList<RetentionRule> _rules;
    private readonly Dictionary<string, long> _cursors = [];
    private bool _running;

    public RetentionJob(JournalDatabase database, IReadOnlyList<RetentionRule> rules)
    {
        _database = database;
        _rules = rules;
        Receive<Tick>(_ => Run());
        Receive<RunDone>(done =>
        {
            _running = false;
            foreach (var (type, cursor, erased) in done.Results)
            {
                _cursors[type] = cursor;
                if (erased.Count == 0)
                    continue;
                DistributedPubSub.Get(Context.System).Mediator.Tell(new Publish(EventsErased.Topic, new EventsErased(erased)));
                _log.Info("Retention: erased {0} events of type {1} (positions {2} to {3})", erased.Count, type, erased[0], erased[^1]);
            }
        });
        Receive<Status.Failure>(failure =>
        {
            _running = false;
            _log.Warning("Retention: the journal could not be read or written; trying again at the next run: {0}", failure.Cause.GetBaseException().Message);
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>How often it runs: a quarter of the shortest age, from once a second to once a minute.</summary>
    public static TimeSpan IntervalFor(IReadOnlyList<RetentionRule> rules) =>
        TimeSpan.FromTicks(Math.Clamp(rules.Min(rule => rule.Age).Ticks / 4, TimeSpan.TicksPerSecond, TimeSpan.TicksPerMinute));

    public static Props Props(JournalDatabase database, IReadOnlyList<RetentionRule> rules) =>
        Akka.Actor.Props.Create(() => new RetentionJob(database, rules));

    /// <inheritdoc />
    protected override void PreStart()
    {
        _log.Info("Retention: erasing {0}, every {1}", string.Join(", ", _rules.Select(rule => $"{rule.Type} after {rule.Age}")), IntervalFor(_rules));
        Timers.StartPeriodicTimer(Tick.Instance, Tick.Instance, IntervalFor(_rules));
    }

    private void Run()
    {
        if (_running)
            return;
        _running = true;
        var system = Context.System;
        var rules = _rules.Select(rule => (rule, _cursors.GetValueOrDefault(rule.Type))).ToList();
        _database.Workers.RunAsync(store => new RunDone(rules.Select(pair => Erase(system, store, pair.rule, pair.Item2)).ToList()))
            .PipeTo(Self);
    }

    /// <summary>One rule's run: scans after <paramref name="cursor"/>, erases what is old enough, returns where it got to and what it erased.</summary>
    private static (string Type, long Cursor, List<long> Erased) Erase(ActorSystem system, IJournalStore store, RetentionRule rule, long cursor)
    {
        var now = DateTimeOffset.UtcNow;
        var cutoff = (now - rule.Age).UtcTicks;
        var erased = new List<long>();
        var tombstones = new List<(long, Tombstone)>();
        for (var scanned = 0; scanned < RowsPerRun;)
        {
            var rows = store.ReadLog(cursor, long.MaxValue, RowsPerQuery);
            foreach (var row in rows)
            {
                if (row.Event.Row.CreatedTicks >= cutoff)
                    return Done();
                cursor = row.Event.Position;
                if (Applied(system, row) is { } applied && applied.Type == rule.Type)
                    tombstones.Add((row.Event.Position, EntityErasure.Tombstone(system, now, applied.EventId)));
            }

            scanned += rows.Count;
            if (rows.Count < RowsPerQuery)
                break;
        }

        return Done();

        (string, long, List<long>) Done()
        {
            if (tombstones.Count > 0)
            {
                store.EraseEvents(tombstones);
                erased.AddRange(tombstones.Select(t => t.Item1));
            }

            return (rule.Type, cursor, erased);
        }
    }

    private static EventApplied? Applied(ActorSystem system, LogRow row)
    {
        var journalRow = row.Event.Row;
        if (!row.PersistenceId.StartsWith(EventEntity.PersistenceIdOf(""), StringComparison.Ordinal) || journalRow.SerializerId != EventClusterSerializer.SerializerId ||
            journalRow.Manifest != EventClusterSerializer.EventAppliedManifest)
            return null;
        try
        {
            return system.Serialization.Deserialize(journalRow.Message, journalRow.SerializerId, journalRow.Manifest) as EventApplied;
        }
        catch (Exception)
        {
            // An unreadable row is not erased by rule: the event log reports it.
            return null;
        }
    }

    private sealed record RunDone(List<(string Type, long Cursor, List<long> Erased)> Results);

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }
}
