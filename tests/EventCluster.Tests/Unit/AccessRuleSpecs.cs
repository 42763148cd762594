using System.Net;
using EventCluster.Messages.Security;
using EventCluster.Node.Hosting;
using EventCluster.Node.Security;
using EventCluster.Node.Webhooks;
using Microsoft.Extensions.Configuration;

namespace EventCluster.Tests.Unit;

/// <summary>The rules behind access: the tokens file, stream tickets, the webhook address policy, the HTTPS certificate option.</summary>
public sealed class AccessRuleSpecs
{
    private static string Entry(string name, string scopes, string token) =>
        $$"""{"name":"{{name}}","scopes":[{{scopes}}],"sha256":"{{ApiTokens.HashHex(token)}}"}""";

    [Fact]
    public void Should_find_each_token_by_its_hash_with_its_scopes_and_keep_the_single_token_with_every_scope()
    {
        var tokens = ApiTokens.From("legacy", $"[{Entry("ci", "\"write\"", "t-ci")},{Entry("ops", "\"read\",\"admin\"", "t-ops")}]", "test");

        Assert.Equal((ApiTokens.SingleTokenName, ApiScope.All), (tokens.Find("legacy")!.Name, tokens.Find("legacy")!.Scopes));
        Assert.Equal(("ci", ApiScope.Write), (tokens.Find("t-ci")!.Name, tokens.Find("t-ci")!.Scopes));
        Assert.Equal(ApiScope.Read | ApiScope.Admin, tokens.Find("t-ops")!.Scopes);
        Assert.Null(tokens.Find("t-ops "));
        Assert.Null(tokens.Find(null));
        Assert.False(ApiTokens.From(null, null, "test").Required);
        // The SHA-256 test vector of "abc": the hash is of the UTF-8 text, nothing added.
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ApiTokens.HashHex("abc"));
    }

    [Theory]
    [InlineData("{}", "must be a JSON array")]
    [InlineData("[{\"name\":\"a\",\"scopes\":[\"read\"],\"sha256\":\"abc\"}]", "64 hex digits")]
    [InlineData("[{\"name\":\"a\",\"scopes\":[\"root\"],\"sha256\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}]", "unknown scope \"root\"")]
    [InlineData("[{\"name\":\"a\",\"scopes\":[],\"sha256\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}]", "non-empty array")]
    [InlineData("[{\"scopes\":[\"read\"],\"sha256\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}]", "needs a name")]
    [InlineData("[{\"name\":\"a\",\"scopes\":[\"read\"],\"token\":\"plain\"}]", "unknown field 'token'")]
    [InlineData("[", "not well-formed JSON")]
    public void Should_refuse_a_bad_tokens_file_naming_what_is_wrong(string json, string reason)
    {
        var error = Assert.Throws<FormatException>(() => ApiTokens.From(null, json, "--api-tokens"));
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void Should_read_tokens_from_a_file_or_from_the_variable_and_refuse_a_name_used_twice()
    {
        using var directory = new Support.TempDirectory("eventcluster-tokens");
        var file = Path.Combine(directory.Path, "tokens.json");
        File.WriteAllText(file, $"[{Entry("ci", "\"write\"", "t-ci")}]");
        var empty = new ConfigurationBuilder().Build();

        var fromFile = NodeSettings.Load(["--api-tokens", file], _ => null, empty);
        var fromVariable = NodeSettings.Load([], name => name == "EVENTCLUSTER_API_TOKENS" ? $"[{Entry("ops", "\"admin\"", "t-ops")}]" : null, empty);
        var twice = Assert.Throws<NodeOptionsException>(() =>
            NodeSettings.Load(["--api-tokens", $"[{Entry("api-token", "\"read\"", "x")}]", "--api-token", "y"], _ => null, empty));
        var missing = Assert.Throws<NodeOptionsException>(() => NodeSettings.Load(["--api-tokens", file + ".gone"], _ => null, empty));

        Assert.Equal("ci", fromFile.Tokens.Find("t-ci")!.Name);
        Assert.Equal(ApiScope.Admin, fromVariable.Tokens.Find("t-ops")!.Scopes);
        Assert.Contains("used twice", twice.Message);
        Assert.Contains("cannot be read", missing.Message);
    }

    [Fact]
    public void Should_accept_a_ticket_until_it_expires_and_never_a_forged_one()
    {
        var clock = new SettableClock(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var tickets = new StreamTickets(clock);
        var ticket = tickets.Issue(new ApiTokenEntry("dash", ApiScope.Read, []));

        Assert.Equal(("dash", ApiScope.Read), tickets.Validate(ticket));
        Assert.Null(new StreamTickets(clock).Validate(ticket)); // another node's key
        Assert.Null(tickets.Validate(ticket.Replace('.', '-')));
        // The last character (which may differ in padding bits only) and one inside the signature.
        Assert.Null(tickets.Validate(ticket[..^1] + (ticket[^1] == 'A' ? 'B' : 'A')));
        var inside = ticket.Length - 5;
        Assert.Null(tickets.Validate(ticket[..inside] + (ticket[inside] == 'A' ? 'B' : 'A') + ticket[(inside + 1)..]));
        Assert.Null(tickets.Validate(null));
        clock.Now += StreamTickets.Lifetime + TimeSpan.FromSeconds(1);
        Assert.Null(tickets.Validate(ticket));
    }

    [Theory]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("::1", "loopback")]
    [InlineData("169.254.169.254", "link-local")]
    [InlineData("fe80::1", "link-local")]
    [InlineData("10.1.2.3", "private")]
    [InlineData("172.16.0.1", "private")]
    [InlineData("172.31.255.255", "private")]
    [InlineData("192.168.0.1", "private")]
    [InlineData("fd00::1", "private")]
    [InlineData("0.0.0.0", "unspecified")]
    [InlineData("::", "unspecified")]
    [InlineData("239.1.1.1", "multicast")]
    [InlineData("ff05::1", "multicast")]
    [InlineData("255.255.255.255", "broadcast")]
    [InlineData("::ffff:127.0.0.1", "IPv4-mapped loopback")]
    [InlineData("::ffff:192.168.0.1", "IPv4-mapped private")]
    [InlineData("100.100.100.200", "carrier-grade NAT private")]
    [InlineData("198.18.0.1", "reserved")]
    [InlineData("240.0.0.1", "reserved")]
    [InlineData("fec0::1", "site-local private")]
    [InlineData("64:ff9b::a9fe:a9fe", "IPv4-embedding link-local")]
    [InlineData("64:ff9b::a00:5", "IPv4-embedding private")]
    [InlineData("64:ff9b:1::a00:5", "local NAT64 private")]
    [InlineData("2002:7f00:1::1", "IPv4-embedding loopback")]
    [InlineData("::7f00:1", "IPv4-embedding loopback")]
    [InlineData("64:ff9b::808:808", null)]
    [InlineData("2002:808:808::1", null)]
    [InlineData("172.32.0.1", null)]
    [InlineData("8.8.8.8", null)]
    [InlineData("2606:4700::1111", null)]
    public void Should_know_each_blocked_address_class(string address, string? kind) =>
        Assert.Equal(kind, WebhookAddressPolicy.BlockedClass(IPAddress.Parse(address)));

    [Fact]
    public void Should_open_addresses_to_address_rules_and_only_private_ones_to_host_name_rules()
    {
        var policy = WebhookAddressPolicy.Parse(["hooks.internal", "127.0.0.1", "10.20.0.0/16", "[::1]"]);

        Assert.Null(policy.Refusal("anything", IPAddress.Parse("127.0.0.1")));
        Assert.Null(policy.Refusal("anything", IPAddress.Parse("::ffff:127.0.0.1")));
        Assert.Null(policy.Refusal("anything", IPAddress.Parse("::1")));
        Assert.Null(policy.Refusal("anything", IPAddress.Parse("10.20.3.4")));
        Assert.NotNull(policy.Refusal("anything", IPAddress.Parse("10.21.3.4")));
        Assert.Null(policy.Refusal("HOOKS.internal", IPAddress.Parse("192.168.7.7")));
        Assert.Contains("link-local", policy.Refusal("hooks.internal", IPAddress.Parse("169.254.169.254")));
        Assert.Contains("loopback", policy.Refusal("hooks.internal", IPAddress.Parse("127.0.0.2")));
        Assert.Null(policy.Refusal("hooks.internal", IPAddress.Parse("93.184.216.34")));
        Assert.Throws<FormatException>(() => WebhookAddressPolicy.Parse(["10.20.0.1/16"]));
        Assert.Throws<FormatException>(() => WebhookAddressPolicy.Parse(["not a host"]));
    }

    [Fact]
    public async Task Should_refuse_a_literal_address_at_creation_without_resolving_and_accept_a_listed_name_unresolved()
    {
        var policy = WebhookAddressPolicy.Parse(["receiver.invalid"]);

        Assert.Contains("link-local", await policy.RefusalAsync(new Uri("http://169.254.169.254/x"), CancellationToken.None));
        Assert.Contains("IPv4-mapped private", await policy.RefusalAsync(new Uri("http://[::ffff:10.0.0.1]/x"), CancellationToken.None));
        Assert.Null(await policy.RefusalAsync(new Uri("http://receiver.invalid:8080/x"), CancellationToken.None));
        Assert.Contains("loopback", await policy.RefusalAsync(new Uri("http://localhost:8080/x"), CancellationToken.None));
    }

    [Fact]
    public void Should_load_the_https_certificate_from_pem_or_pfx_and_refuse_one_it_cannot_serve()
    {
        using var directory = new Support.TempDirectory("eventcluster-https-cert");
        var pem = Path.Combine(directory.Path, "http.pem");
        var (certificate, key) = HttpsDevelopmentCertificate.Create(["node-1.example"]);
        File.WriteAllText(pem, certificate + key);
        var pfx = Path.Combine(directory.Path, "node.pfx");
        var password = RemoteTls.CreateDevelopmentCertificate(pfx);
        var certOnly = Path.Combine(directory.Path, "cert-only.pem");
        File.WriteAllText(certOnly, certificate);
        var empty = new ConfigurationBuilder().Build();

        Assert.True(NodeSettings.Load(["--http-certificate", pem], _ => null, empty).HttpCertificate!.HasPrivateKey);
        Assert.True(NodeSettings.Load(["--http-certificate", pfx, "--http-certificate-password", password], _ => null, empty).HttpCertificate!.HasPrivateKey);
        Assert.Contains("cannot be opened", Assert.Throws<NodeOptionsException>(() =>
            NodeSettings.Load(["--http-certificate", pfx, "--http-certificate-password", "wrong"], _ => null, empty)).Message);
        Assert.Contains("--http-certificate", Assert.Throws<NodeOptionsException>(() =>
            NodeSettings.Load(["--http-certificate", certOnly], _ => null, empty)).Message);
        Assert.Contains("without --http-certificate", Assert.Throws<NodeOptionsException>(() =>
            NodeSettings.Load(["--http-certificate-password", "pw"], _ => null, empty)).Message);
        Assert.Null(NodeSettings.Load([], _ => null, empty).HttpCertificate);
    }

    private sealed class SettableClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
