using System.Globalization;
using System.Text;
using Akka.Actor;
using Akka.Hosting;
using EventCluster.Messages.Webhooks;
using EventCluster.Node.Hosting;
using EventCluster.Node.Webhooks;

namespace EventCluster.Node.Api;

/// <summary>The webhook subscriptions' figures in the Prometheus text of <c>/metrics</c>, read from the journal database.</summary>
public static class WebhookMetrics
{
    /// <summary>Every subscription's figures; none when the database does not answer within 2 s.</summary>
    public static async Task<IReadOnlyList<WebhookInfo>> ReadAsync(ActorRegistry registry, NodeSettings settings)
    {
        if (!registry.TryGet<WebhookManager>(out var manager))
            return [];
        try
        {
            var answer = await manager.Ask<WebhookAnswer>(new GetWebhooks(Guid.NewGuid().ToString("N"), null, settings.ApiToken), TimeSpan.FromSeconds(2));
            return answer.Webhooks;
        }
        catch (AskTimeoutException)
        {
            return [];
        }
    }

    /// <summary>The metric families, one sample per subscription.</summary>
    public static string Render(IReadOnlyList<WebhookInfo> webhooks)
    {
        var text = new StringBuilder();
        void Family(string name, string type, string help, Func<WebhookInfo, long> value)
        {
            text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            foreach (var webhook in webhooks)
                text.Append(name).Append("{subscription=\"").Append(webhook.Name).Append("\"} ")
                    .Append(value(webhook).ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        Family("eventcluster_webhook_position", "gauge", "Position below which every matching event was delivered or parked.", w => w.Position);
        Family("eventcluster_webhook_lag", "gauge", "Events stored after the subscription's position.", w => w.Lag);
        Family("eventcluster_webhook_delivered_total", "counter", "Events delivered with a 2xx answer.", w => w.Delivered);
        Family("eventcluster_webhook_retries_total", "counter", "Delivery attempts that failed and were retried.", w => w.Retries);
        Family("eventcluster_webhook_parked", "gauge", "Events parked now.", w => w.Parked);
        return text.ToString();
    }
}
