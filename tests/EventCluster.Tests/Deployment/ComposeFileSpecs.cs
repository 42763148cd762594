using EventCluster.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace EventCluster.Tests.Deployment;

/// <summary>
/// docker-compose.yml and the Dockerfile describe the documented deployment: two seeds, a
/// scalable worker service and PostgreSQL, nodes configured only through EVENTCLUSTER_*
/// variables. No Docker engine runs here, so these specs read the files' structure.
/// </summary>
public sealed class ComposeFileSpecs
{
    private static readonly string[] NodeServices = ["seed1", "seed2", "worker"];
    private readonly YamlMappingNode _services;

    public ComposeFileSpecs()
    {
        var yaml = new YamlStream();
        using var reader = new StreamReader(Path.Combine(BuiltArtifacts.RepositoryRoot, "docker-compose.yml"));
        yaml.Load(reader);
        // The loader resolves the file's anchors and merge keys (<<) the way Compose does.
        yaml.Documents[0].RootNode.Accept(new MergingVisitor());
        _services = (YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode)["services"];
    }

    [Fact]
    public void Should_have_two_seeds_a_worker_service_and_postgres_with_a_health_check()
    {
        Assert.Equal(["postgres", "seed1", "seed2", "worker"], _services.Children.Keys.Select(k => k.ToString()).Order());
        var postgres = Service("postgres");
        Assert.Contains("pg_isready", Text(postgres["healthcheck"]));
    }

    [Theory]
    [InlineData("seed1")]
    [InlineData("seed2")]
    [InlineData("worker")]
    public void Should_configure_each_node_only_through_eventcluster_variables(string name)
    {
        var node = Service(name);
        var environment = Environment(node);

        Assert.All(environment.Keys, key => Assert.StartsWith("EVENTCLUSTER_", key));
        Assert.Equal("0.0.0.0", environment["EVENTCLUSTER_BIND_HOST"]);
        Assert.Equal("seed1:4053,seed2:4053", environment["EVENTCLUSTER_SEEDS"]);
        Assert.StartsWith("postgres:Host=postgres;", environment["EVENTCLUSTER_JOURNAL"]);
        Assert.False(node.Children.ContainsKey("command"), "nodes take no command-line options");
        Assert.False(node.Children.ContainsKey("network_mode"), "no host networking");
        Assert.Contains("/health/ready", Text(node["healthcheck"]));
        Assert.Contains("service_healthy", Text(node["depends_on"]));
    }

    [Fact]
    public void Should_publish_the_seeds_service_names_and_leave_workers_scalable()
    {
        Assert.Equal("seed1", Environment(Service("seed1"))["EVENTCLUSTER_HOST"]);
        Assert.Equal("seed2", Environment(Service("seed2"))["EVENTCLUSTER_HOST"]);
        var worker = Service("worker");
        Assert.False(Environment(worker).ContainsKey("EVENTCLUSTER_HOST"), "a scaled worker publishes its own address");
        Assert.False(worker.Children.ContainsKey("ports"), "published ports would clash when scaled");
        Assert.False(worker.Children.ContainsKey("container_name"), "a fixed name would clash when scaled");
        Assert.False(worker.Children.ContainsKey("hostname"), "a fixed host name would clash when scaled");
    }

    [Fact]
    public void Should_build_in_one_stage_and_run_as_a_non_root_user_in_another()
    {
        var dockerfile = File.ReadAllLines(Path.Combine(BuiltArtifacts.RepositoryRoot, "Dockerfile"));
        var stages = dockerfile.Where(line => line.StartsWith("FROM ", StringComparison.Ordinal)).ToList();

        Assert.Equal(2, stages.Count);
        Assert.Contains("/dotnet/sdk:", stages[0]);
        Assert.Contains("/dotnet/aspnet:", stages[1]);
        var user = dockerfile.Last(line => line.StartsWith("USER ", StringComparison.Ordinal));
        Assert.NotEqual("USER root", user.Trim());
        Assert.Contains(dockerfile, line => line.StartsWith("ENTRYPOINT ", StringComparison.Ordinal));
        Assert.Contains(dockerfile, line => line.Contains("EVENTCLUSTER_BIND_HOST=0.0.0.0"));
        var entrypoint = File.ReadAllText(Path.Combine(BuiltArtifacts.RepositoryRoot, "docker-entrypoint.sh"));
        Assert.Contains("exec dotnet /app/EventCluster.Node.dll", entrypoint);
    }

    private YamlMappingNode Service(string name) => (YamlMappingNode)_services[name];

    private static Dictionary<string, string> Environment(YamlMappingNode service) =>
        ((YamlMappingNode)service["environment"]).Children.ToDictionary(p => p.Key.ToString(), p => p.Value.ToString());

    private static string Text(YamlNode node) => node switch
    {
        YamlScalarNode scalar => scalar.Value ?? "",
        YamlSequenceNode sequence => string.Join(" ", sequence.Children.Select(Text)),
        YamlMappingNode mapping => string.Join(" ", mapping.Children.Select(p => $"{Text(p.Key)} {Text(p.Value)}")),
        _ => "",
    };

    /// <summary>Applies YAML merge keys: the entries of a <c>&lt;&lt;</c> mapping become the mapping's own unless it sets them itself.</summary>
    private sealed class MergingVisitor : YamlVisitorBase
    {
        protected override void VisitChildren(YamlMappingNode mapping)
        {
            base.VisitChildren(mapping);
            var merge = new YamlScalarNode("<<");
            if (!mapping.Children.TryGetValue(merge, out var source) || source is not YamlMappingNode inherited)
                return;
            mapping.Children.Remove(merge);
            foreach (var (key, value) in inherited.Children)
            {
                if (!mapping.Children.ContainsKey(key))
                    mapping.Children.Add(key, value);
            }
        }
    }
}
