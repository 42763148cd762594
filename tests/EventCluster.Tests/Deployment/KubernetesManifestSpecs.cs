using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EventCluster.Node.Hosting;
using EventCluster.Tests.Support;
using Microsoft.Extensions.Configuration;
using YamlDotNet.Serialization;

namespace EventCluster.Tests.Deployment;

/// <summary>
/// The manifests under deploy/kubernetes/ fit the node they deploy. Their validity against the
/// Kubernetes object schemas is checked by deploy/kubernetes/validate in CI; these specs check
/// what no schema knows: that every variable is an option the node accepts with these values,
/// that ports, probes, labels and the service account agree with each other, and that the pods
/// have the time a graceful leave needs.
/// </summary>
public sealed class KubernetesManifestSpecs
{
    private static readonly string Folder = Path.Combine(BuiltArtifacts.RepositoryRoot, "deploy", "kubernetes");
    private readonly List<JsonNode> _objects;

    public KubernetesManifestSpecs()
    {
        // Each document through YamlDotNet's JSON-compatible form: scalars come out as strings.
        var deserializer = new DeserializerBuilder().Build();
        var json = new SerializerBuilder().JsonCompatible().Build();
        _objects = Directory.GetFiles(Folder, "*.yaml").Order()
            .SelectMany(file => File.ReadAllText(file).Split("\n---\n"))
            .Select(document => deserializer.Deserialize<object>(document))
            .Where(document => document is not null)
            .Select(document => JsonNode.Parse(json.Serialize(document))!)
            .ToList();
    }

    private JsonNode StatefulSet => Object("StatefulSet", "eventcluster");
    private JsonNode PodSpec => StatefulSet["spec"]!["template"]!["spec"]!;
    private JsonNode Container => PodSpec["containers"]!.AsArray().Single()!;

    [Fact]
    public void Should_configure_the_nodes_only_with_variables_the_node_accepts_and_form_the_cluster_through_kubernetes_discovery()
    {
        var variables = Container["env"]!.AsArray().ToDictionary(e => (string)e!["name"]!, e => e!);
        Assert.Subset(NodeSettings.Options.Select(o => o.Variable).ToHashSet(), variables.Keys.ToHashSet());
        Assert.False(variables.ContainsKey("EVENTCLUSTER_SEEDS"), "discovery replaces the seeds");
        Assert.Equal("status.podIP", (string)variables["EVENTCLUSTER_HOST"]["valueFrom"]!["fieldRef"]!["fieldPath"]!);

        // The values written in the manifest, as the node reads them; secrets and the pod's address as a cluster would fill them.
        var values = variables.Where(v => v.Value["value"] is not null).ToDictionary(v => v.Key, v => (string)v.Value["value"]!);
        values["EVENTCLUSTER_HOST"] = "10.1.2.3";
        values["EVENTCLUSTER_JOURNAL"] = "postgres:Host=db;Database=eventcluster;Username=eventcluster";
        // Files the secrets provide, opened at start.
        values.Remove("EVENTCLUSTER_TLS_CERTIFICATE");
        values.Remove("EVENTCLUSTER_HTTP_CERTIFICATE");
        var settings = NodeSettings.Load([], name => values.GetValueOrDefault(name), new ConfigurationBuilder().Build());

        var discovery = settings.Discovery!;
        Assert.Equal(ClusterDiscovery.Kubernetes, discovery.Method);
        Assert.Equal(Port("management"), discovery.ManagementPort);
        Assert.Equal(Port("remoting"), settings.Port);
        Assert.Equal(Port("http"), settings.HttpPort);
        // The first cluster forms only once every pod of the first start answers.
        Assert.Equal(int.Parse((string)StatefulSet["spec"]!["replicas"]!), discovery.RequiredContactPoints);
        var (key, value) = Assert.Single(PodLabels());
        Assert.Equal($"{key}={value}", discovery.LabelSelector);
        Assert.Equal("Parallel", (string)StatefulSet["spec"]!["podManagementPolicy"]!);
        foreach (var secret in new[] { "EVENTCLUSTER_JOURNAL", "EVENTCLUSTER_API_TOKEN", "EVENTCLUSTER_TLS_PASSWORD" })
            Assert.NotNull(variables[secret]["valueFrom"]!["secretKeyRef"]);
        // Each certificate the node opens is a file of a mounted secret.
        var secretFiles = PodSpec["volumes"]!.AsArray().Where(v => v!["secret"] is not null).SelectMany(volume =>
        {
            var mount = Container["volumeMounts"]!.AsArray().Single(m => (string)m!["name"]! == (string)volume!["name"]!)!;
            return volume!["secret"]!["items"]!.AsArray().Select(item => Path.Combine((string)mount["mountPath"]!, (string)item!["path"]!));
        }).ToList();
        Assert.Contains((string)variables["EVENTCLUSTER_TLS_CERTIFICATE"]["value"]!, secretFiles);
        Assert.Contains((string)variables["EVENTCLUSTER_HTTP_CERTIFICATE"]["value"]!, secretFiles);
    }

    [Fact]
    public void Should_probe_liveness_and_readiness_and_give_a_leaving_node_more_than_its_hand_off_time()
    {
        // The port serves HTTPS only (the API token is on): a plain-HTTP probe would never pass.
        Assert.Equal(("/health/live", "http", "HTTPS"), Probe("startupProbe"));
        Assert.Equal(("/health/live", "http", "HTTPS"), Probe("livenessProbe"));
        Assert.Equal(("/health/ready", "http", "HTTPS"), Probe("readinessProbe"));
        var handOff = Regex.Match(File.ReadAllText(Path.Combine(BuiltArtifacts.RepositoryRoot, "hocon", "sharding.hocon")),
            @"^\s*handoff-timeout\s*=\s*(\d+)s", RegexOptions.Multiline);
        Assert.True(handOff.Success, "sharding.hocon sets handoff-timeout in seconds");
        Assert.True(int.Parse((string)PodSpec["terminationGracePeriodSeconds"]!) > 2 * int.Parse(handOff.Groups[1].Value));
        Assert.NotNull(Container["resources"]!["requests"]!["memory"]);
    }

    [Fact]
    public void Should_let_the_nodes_service_account_read_pods_and_nothing_else()
    {
        var account = (string)PodSpec["serviceAccountName"]!;
        Assert.NotNull(Object("ServiceAccount", account));
        var binding = _objects.Single(o => (string)o["kind"]! == "RoleBinding");
        Assert.Contains(binding["subjects"]!.AsArray(), s => (string)s!["kind"]! == "ServiceAccount" && (string)s["name"]! == account);
        var role = Object("Role", (string)binding["roleRef"]!["name"]!);
        var rule = Assert.Single(role["rules"]!.AsArray())!;
        Assert.Equal(["pods"], rule["resources"]!.AsArray().Select(r => (string)r!));
        Assert.Equal(["get", "list", "watch"], rule["verbs"]!.AsArray().Select(v => (string)v!).Order());
    }

    [Fact]
    public void Should_select_the_node_pods_from_the_services_and_the_disruption_budget()
    {
        var nodes = Object("Service", (string)StatefulSet["spec"]!["serviceName"]!);
        Assert.Equal("None", (string)nodes["spec"]!["clusterIP"]!);
        Assert.Equal(["management", "remoting"], nodes["spec"]!["ports"]!.AsArray().Select(p => (string)p!["targetPort"]!).Order());
        var http = _objects.Single(o => (string)o["kind"]! == "Service" && o != nodes);
        var port = Assert.Single(http["spec"]!["ports"]!.AsArray())!;
        Assert.Equal(("http", "443"), ((string)port["targetPort"]!, (string)port["port"]!));
        var budget = _objects.Single(o => (string)o["kind"]! == "PodDisruptionBudget");
        Assert.Equal("1", (string)budget["spec"]!["maxUnavailable"]!);
        foreach (var selector in new[] { nodes["spec"]!["selector"]!, http["spec"]!["selector"]!, budget["spec"]!["selector"]!["matchLabels"]! })
            Assert.Equal(PodLabels(), Labels(selector));
        var space = (string)_objects.Single(o => (string)o["kind"]! == "Namespace")["metadata"]!["name"]!;
        Assert.All(_objects.Where(o => (string)o["kind"]! != "Namespace"), o => Assert.Equal(space, (string)o["metadata"]!["namespace"]!));
    }

    private JsonNode Object(string kind, string name) =>
        _objects.Single(o => (string)o["kind"]! == kind && (string)o["metadata"]!["name"]! == name);

    private int Port(string name) =>
        int.Parse((string)Container["ports"]!.AsArray().Single(p => (string)p!["name"]! == name)!["containerPort"]!);

    private (string Path, string Port, string? Scheme) Probe(string probe) =>
        ((string)Container[probe]!["httpGet"]!["path"]!, (string)Container[probe]!["httpGet"]!["port"]!,
            (string?)Container[probe]!["httpGet"]!["scheme"]);

    private Dictionary<string, string> PodLabels() => Labels(StatefulSet["spec"]!["template"]!["metadata"]!["labels"]!);

    private static Dictionary<string, string> Labels(JsonNode labels) =>
        labels.AsObject().ToDictionary(l => l.Key, l => (string)l.Value!);
}
