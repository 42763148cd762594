using System.Security.Cryptography;
using System.Text;
using EventCluster.Node.Webhooks;

namespace EventCluster.Tests.Unit;

/// <summary>Sealing and opening webhook secrets: round trips, key rotation, and what must not open.</summary>
public sealed class WebhookSecretsUnitSpecs
{
    private static readonly string OldKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private static readonly string NewKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    [Fact]
    public void Should_seal_with_a_fresh_nonce_and_open_with_the_same_key_and_name()
    {
        var secrets = WebhookSecrets.Parse(OldKey, "test", false);

        var (one, two) = (secrets.Seal("hooks", "s3cret"), secrets.Seal("hooks", "s3cret"));

        Assert.NotEqual(one, two);
        Assert.DoesNotContain("s3cret", one);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes("s3cret")), one);
        Assert.StartsWith($"v1:{secrets.SealingKeyId}:", one);
        Assert.Equal("s3cret", secrets.Open("hooks", one));
    }

    [Fact]
    public void Should_open_with_any_configured_key_and_seal_again_only_what_is_not_under_the_first()
    {
        var old = WebhookSecrets.Parse(OldKey, "test", false);
        var rotating = WebhookSecrets.Parse($"# new first\n{NewKey}\n{OldKey}\n", "test", false);
        var sealedOld = old.Seal("hooks", "s3cret");

        Assert.Equal("s3cret", rotating.Open("hooks", sealedOld));
        Assert.True(rotating.NeedsResealing(WebhookSecrets.SealedMarker, sealedOld));
        Assert.False(rotating.NeedsResealing(WebhookSecrets.SealedMarker, rotating.Seal("hooks", "s3cret")));
        Assert.True(rotating.NeedsResealing("plain", null));
        Assert.False(rotating.NeedsResealing(null, null));
    }

    [Fact]
    public void Should_refuse_to_open_under_a_missing_key_another_name_or_altered_bytes()
    {
        var secrets = WebhookSecrets.Parse(OldKey, "test", false);
        var sealedValue = secrets.Seal("hooks", "s3cret");
        var parts = sealedValue.Split(':');
        var bytes = Convert.FromBase64String(parts[2]);
        bytes[^1] ^= 1;

        Assert.Contains("which this node does not have", Assert.Throws<WebhookSecretUnavailableException>(
            () => WebhookSecrets.Parse(NewKey, "test", false).Open("hooks", sealedValue)).Message);
        Assert.Contains("no secrets key", Assert.Throws<WebhookSecretUnavailableException>(() => WebhookSecrets.None().Open("hooks", sealedValue)).Message);
        Assert.Contains("altered or belongs to another subscription",
            Assert.Throws<WebhookSecretUnavailableException>(() => secrets.Open("other", sealedValue)).Message);
        Assert.Contains("altered", Assert.Throws<WebhookSecretUnavailableException>(
            () => secrets.Open("hooks", $"{parts[0]}:{parts[1]}:{Convert.ToBase64String(bytes)}")).Message);
    }
}
