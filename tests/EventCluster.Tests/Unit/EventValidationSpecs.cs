using EventCluster.Messages.Commands;
using EventCluster.Messages.Validation;

namespace EventCluster.Tests.Unit;

public sealed class EventValidationSpecs
{
    [Theory]
    [InlineData("acct-1")]
    [InlineData("A.b_c:d-9")]
    public void Should_accept_ids_of_the_allowed_alphabet(string id) => Assert.Null(EventValidation.CheckEntityId(id));

    [Theory]
    [InlineData("", "required")]
    [InlineData("has space", "contains")]
    [InlineData("slash/no", "contains")]
    [InlineData("émoji", "contains")]
    public void Should_reject_invalid_entity_ids(string id, string reason) =>
        Assert.Contains(reason, EventValidation.CheckEntityId(id));

    [Fact]
    public void Should_reject_ids_and_types_over_their_length_limits()
    {
        Assert.Null(EventValidation.CheckEventId(new string('a', 128)));
        Assert.Contains("limit is 128", EventValidation.CheckEventId(new string('a', 129)));
        Assert.Null(EventValidation.CheckType(new string('t', 64)));
        Assert.Contains("limit is 64", EventValidation.CheckType(new string('t', 65)));
    }

    [Theory]
    [InlineData("[1,2]", "JSON object")]
    [InlineData("42", "JSON object")]
    [InlineData("{\"a\":", "not valid JSON")]
    [InlineData("{'a':1}", "not valid JSON")]
    [InlineData("", "data is empty")]
    [InlineData("  ", "data is empty")]
    [InlineData("{\"a\":1,\"a\":2}", "not valid JSON")]
    [InlineData("{\"n\":{\"b\":1,\"b\":2}}", "not valid JSON")]
    public void Should_reject_data_that_is_not_a_json_object(string data, string reason) =>
        Assert.Contains(reason, EventValidation.CheckData(data));

    [Fact]
    public void Should_normalize_data_to_compact_json_and_treat_missing_data_as_empty_object()
    {
        Assert.True(EventValidation.TryNormalizeData(" { \"a\" : 1 } ", out var compact, out _));
        Assert.Equal("{\"a\":1}", compact);
        Assert.True(EventValidation.TryNormalizeData(null, out var empty, out _));
        Assert.Equal("{}", empty);
    }

    [Fact]
    public void Should_reject_data_over_64_KiB_serialized()
    {
        var fits = $$"""{"v":"{{new string('x', EventValidation.MaxDataBytes - 8)}}"}""";
        var tooBig = $$"""{"v":"{{new string('x', EventValidation.MaxDataBytes)}}"}""";

        Assert.Null(EventValidation.CheckData(fits));
        Assert.Contains("65536", EventValidation.CheckData(tooBig));
    }

    [Fact]
    public void Should_check_every_field_of_an_event()
    {
        Assert.Null(EventValidation.Check(new SubmitEvent("a", "b", "c", "{}")));
        Assert.Contains("event id", EventValidation.Check(new SubmitEvent("a", "", "c", "{}")));
        Assert.Contains("event type", EventValidation.Check(new SubmitEvent("a", "b", "bad type", "{}")));
        Assert.Contains("JSON", EventValidation.Check(new SubmitEvent("a", "b", "c", "[]")));
    }
}
