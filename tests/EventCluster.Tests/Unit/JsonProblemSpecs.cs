using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using EventCluster.Node.Api;

namespace EventCluster.Tests.Unit;

public sealed class JsonProblemSpecs
{
    private const string EventFields = "entityId, type, eventId and data";
    private const string EventKinds = "entityId, type and eventId are strings, data is an object";

    [Theory]
    [InlineData("""{"entityId":"a","type":"t","x":1}""", "unknown field at $.x (line 1, byte 32); the fields are entityId, type, eventId and data")]
    [InlineData("""{"entityId":5,"type":"t"}""", "wrong kind of value at $.entityId (line 1, byte ")]
    [InlineData("""{"entityId":{"a":1},"type":"t"}""", "wrong kind of value at $.entityId")]
    [InlineData("""{"entityId":"a","type":"t","entityId":"b"}""", "a field given twice or a wrong kind of value at $.entityId")]
    [InlineData("""{"entityId":"a","type":"t","data":{"v":2,"v":3}}""", "a field given twice or a wrong kind of value at $.data")]
    [InlineData("""{"entityId":"a","type":"t","data":{"v":2}""", "the text is not well-formed JSON at $")]
    [InlineData("""{"entityId":"a" "type":"t"}""", "the text is not well-formed JSON at $")]
    [InlineData("[1]", "the body is not a JSON object at $ (line 1, byte ")]
    [InlineData("", "the text is not well-formed JSON at $ (line 1, byte 1)")]
    public void Should_describe_a_bad_event_body_by_kind_and_place_without_dotnet_names(string body, string expected)
    {
        var detail = Describe<EventEndpoints.EventRequest>(Encoding.UTF8.GetBytes(body), EventEndpoints.RequestOptions, EventFields, EventKinds);

        Assert.Contains(expected, detail);
        Assert.DoesNotContain("System.", detail);
        Assert.DoesNotContain("EventCluster.", detail);
    }

    [Fact]
    public void Should_name_text_that_is_not_utf8_and_where_it_is()
    {
        byte[] body = [.. "{\"entityId\":\"enc-"u8, 0xff, 0xfe, .. "\",\"type\":\"t\"}"u8];

        var detail = Describe<EventEndpoints.EventRequest>(body, EventEndpoints.RequestOptions, EventFields, EventKinds);

        Assert.Equal("the text is not valid UTF-8 at $.entityId (line 1, byte 21)", detail);
    }

    [Theory]
    [InlineData("""{"name":"n","url":"http://x","maxAttempts":true}""", "wrong kind of value at $.maxAttempts")]
    [InlineData("""{"name":"n","url":"http://x","maxAttempts":1.5}""", "wrong kind of value at $.maxAttempts")]
    [InlineData("""{"name":"n","url":"http://x","maxAttempts":99999999999}""", "wrong kind of value at $.maxAttempts")]
    [InlineData("""{"name":"n","url":"http://x","types":["a",1]}""", "wrong kind of value at $.types[1]")]
    [InlineData("""{"name":"n","url":"http://x","types":"a"}""", "a field given twice or a wrong kind of value at $.types")]
    [InlineData("""{"name":"n","url":"http://x","Name":"m"}""", "unknown field at $.Name")]
    public void Should_describe_a_bad_webhook_body_alike(string body, string expected)
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            AllowDuplicateProperties = false,
            PropertyNameCaseInsensitive = false,
        };

        var detail = Describe<WebhookEndpoints.AddRequest>(Encoding.UTF8.GetBytes(body), options,
            "name, url, types, entityPrefix, from, secret, maxAttempts and concurrency", "name and url are strings, maxAttempts a number");

        Assert.Contains(expected, detail);
        Assert.DoesNotContain("System.", detail);
    }

    private static string Describe<T>(byte[] body, JsonSerializerOptions options, string fields, string kinds)
    {
        var ex = Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<T>(body, options));
        return ApiResults.DescribeJson(ex, fields, kinds);
    }
}
