using EventCluster.Messages.Commands;
using EventCluster.Messages.Queries;
using EventCluster.Messages.Sharding;
using EventCluster.Messages.Validation;

namespace EventCluster.Tests.Unit;

public sealed class EntityMessageExtractorSpecs
{
    private readonly EntityMessageExtractor _extractor = new();

    [Fact]
    public void Should_route_events_and_queries_of_one_entity_to_the_same_entity_and_shard()
    {
        var submit = new SubmitEvent("acct-42", "e1", "deposit", "{}");
        var query = new GetEntityState("acct-42");

        Assert.Equal("acct-42", _extractor.EntityId(submit));
        Assert.Equal(_extractor.ShardId("acct-42", submit), _extractor.ShardId("acct-42", query));
    }

    [Fact]
    public void Should_spread_entities_over_all_shards()
    {
        var shards = Enumerable.Range(0, 10_000).Select(i => _extractor.ShardId($"entity-{i}", null)).ToHashSet();

        Assert.Equal(EntityMessageExtractor.ShardCount, shards.Count);
        Assert.All(shards, shard => Assert.InRange(int.Parse(shard), 0, EntityMessageExtractor.ShardCount - 1));
    }

    [Fact]
    public void Should_give_the_same_shard_in_every_process()
    {
        // Shard ids must not depend on string.GetHashCode, which is randomized per process.
        Assert.Equal(_extractor.ShardId("acct-1", null), new EntityMessageExtractor().ShardId("acct-1", null));
        Assert.Equal("85", _extractor.ShardId("stable-id", null));
    }

    [Fact]
    public void Should_return_null_for_foreign_messages()
    {
        Assert.Null(_extractor.EntityId("not an entity message"));
    }

    [Fact]
    public void Should_have_a_placeholder_for_every_shard_that_no_valid_entity_id_can_collide_with()
    {
        var placeholders = EventCluster.Node.Cluster.ShardPreallocator.PlaceholderByShard;

        Assert.Equal(EntityMessageExtractor.ShardCount, placeholders.Count);
        foreach (var (shard, id) in placeholders)
        {
            Assert.Equal(shard, _extractor.ShardId(id, null));
            Assert.Equal(shard, _extractor.ShardId(id, new Akka.Cluster.Sharding.ShardRegion.StartEntity(id)));
            Assert.NotNull(EventValidation.Check(new SubmitEvent(id, "ev-1", "t", "{}")));
        }
    }
}
