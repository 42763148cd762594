using System.Text.Json.Nodes;
using EventCluster.Messages.Journal;
using EventCluster.Node.Entities;

namespace EventCluster.Tests.Unit;

public sealed class EntityStateSpecs
{
    private static readonly DateTimeOffset At = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static EventApplied Event(string id, string type, string data) => new(id, type, data, At);

    [Fact]
    public void Should_fold_events_into_version_counts_and_last_event()
    {
        var state = EntityState.Empty("acct-1")
            .Apply(Event("e1", "deposit", """{"amount":5}"""), 1)
            .Apply(Event("e2", "deposit", """{"amount":7}"""), 2)
            .Apply(Event("e3", "withdraw", """{"amount":3}"""), 3);

        Assert.Equal(3, state.Version);
        Assert.Equal(3, state.EventCount);
        Assert.Equal(2, state.CountsByType["deposit"]);
        Assert.Equal(1, state.CountsByType["withdraw"]);
        Assert.Equal("e3", state.LastEventId);
        Assert.Equal("withdraw", state.LastEventType);
        Assert.Equal(At, state.LastEventAt);
    }

    [Fact]
    public void Should_recover_an_erased_entity_as_closed_with_no_data_and_no_event_ids()
    {
        // What replay reads after an erase: tombstones without ids, then the notice.
        var state = EntityState.Empty("acct-1")
            .Apply(Event("", EntityErasure.TombstoneType, "{}"), 1, 11)
            .Apply(Event("", EntityErasure.TombstoneType, "{}"), 2, 12)
            .Apply(Event("", EntityErasure.NoticeType, "{}"), 3, 30);

        var result = state.ToResult("node");
        Assert.True(state.Erased);
        Assert.Equal(3, state.Version);
        Assert.Equal(30, state.ErasePosition);
        Assert.Equal("{}", state.Data);
        Assert.Equal(0, state.Recent.Count);
        Assert.True(result.Erased);
        Assert.False(result.Exists);
    }

    [Fact]
    public void Should_keep_a_retention_tombstones_id_for_deduplication_and_stay_open()
    {
        var state = EntityState.Empty("acct-1")
            .Apply(Event("e1", "session", """{"ip":"10.0.0.1"}"""), 1, 5)
            .Apply(Event("e2", EntityErasure.TombstoneType, "{}"), 2, 6)
            .Apply(Event("e3", "deposit", """{"amount":5}"""), 3, 7);

        Assert.False(state.Erased);
        Assert.Equal(3, state.Version);
        Assert.True(state.HasApplied("e2"));
        Assert.Equal(6, state.PositionOf("e2"));
        Assert.False(state.CountsByType.ContainsKey(EntityErasure.TombstoneType));
    }

    [Fact]
    public void Should_merge_payloads_as_rfc7386_merge_patch()
    {
        var state = EntityState.Empty("doc")
            .Apply(Event("e1", "set", """{"a":1,"b":{"c":2,"d":3},"e":[1,2]}"""), 1)
            .Apply(Event("e2", "set", """{"b":{"c":null,"x":"y"},"e":[3],"f":{"g":null}}"""), 2)
            .Apply(Event("e3", "set", """{"a":null}"""), 3);

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"b":{"d":3,"x":"y"},"e":[3],"f":{}}"""), JsonNode.Parse(state.Data)));
    }

    [Fact]
    public void Should_remember_applied_event_ids_up_to_the_window()
    {
        var state = EntityState.Empty("e");
        for (var i = 1; i <= EntityState.DeduplicationWindow + 5; i++)
            state = state.Apply(Event($"id-{i}", "t", "{}"), i);

        Assert.True(state.HasApplied($"id-{EntityState.DeduplicationWindow + 5}"));
        Assert.True(state.HasApplied("id-6"));
        Assert.False(state.HasApplied("id-5"));
        Assert.Equal(EntityState.DeduplicationWindow, state.Recent.Count);
    }

    [Fact]
    public void Should_restore_state_and_deduplication_window_from_a_snapshot()
    {
        var state = EntityState.Empty("acct")
            .Apply(Event("e1", "deposit", """{"amount":5}"""), 1)
            .Apply(Event("e2", "close", """{"open":false}"""), 2);

        var restored = EntityState.FromSnapshot("acct", state.ToSnapshot());

        Assert.Equal(state.Version, restored.Version);
        Assert.Equal(state.EventCount, restored.EventCount);
        Assert.Equal(state.CountsByType, restored.CountsByType);
        Assert.Equal(state.Data, restored.Data);
        Assert.True(restored.HasApplied("e1"));
        Assert.True(restored.HasApplied("e2"));
        Assert.Equal(state.ToResult("n"), restored.ToResult("n"), new StateResultComparer());
    }

    [Fact]
    public void Should_refuse_an_event_that_would_grow_data_beyond_the_limit()
    {
        var big = new string('x', 60_000);
        var state = EntityState.Empty("big");
        string? problem = null;
        for (var i = 1; problem is null && i < 40; i++)
        {
            var evt = Event($"e{i}", "t", $$"""{"k{{i}}":"{{big}}"}""");
            problem = state.CheckApplicable(evt, out var merged);
            if (problem is null)
                state = state.Apply(evt, i, mergedData: merged);
        }

        Assert.NotNull(problem);
        Assert.Contains("limit", problem);
        Assert.True(state.Version is > 10 and < 20, $"version {state.Version}");
    }

    [Fact]
    public void Should_report_an_entity_without_events_as_not_existing()
    {
        var result = EntityState.Empty("nobody").ToResult("node");

        Assert.False(result.Exists);
        Assert.Equal(0, result.Version);
        Assert.Equal("{}", result.Data);
    }

    private sealed class StateResultComparer : IEqualityComparer<EventCluster.Messages.Queries.EntityStateResult>
    {
        public bool Equals(EventCluster.Messages.Queries.EntityStateResult? x, EventCluster.Messages.Queries.EntityStateResult? y) =>
            x is not null && y is not null && x.Version == y.Version && x.EventCount == y.EventCount &&
            x.Data == y.Data && x.LastEventId == y.LastEventId && x.CountsByType.Count == y.CountsByType.Count &&
            x.CountsByType.All(pair => y.CountsByType.TryGetValue(pair.Key, out var v) && v == pair.Value);

        public int GetHashCode(EventCluster.Messages.Queries.EntityStateResult obj) => obj.Version.GetHashCode();
    }
}
