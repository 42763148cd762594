using Xunit.Abstractions;

namespace EventCluster.Tests.Support;

/// <summary>A cluster of real nodes on one of the two journal databases, for specs that run on both.</summary>
public sealed class ClusterOn : IAsyncDisposable
{
    private readonly PostgresDatabase? _database;

    private ClusterOn(LocalCluster cluster, PostgresDatabase? database)
    {
        Cluster = cluster;
        _database = database;
    }

    /// <summary>The cluster.</summary>
    public LocalCluster Cluster { get; }

    /// <summary>The journal databases every listener spec runs on.</summary>
    public static TheoryData<string> Databases => new() { "sqlite", "postgres" };

    /// <summary>
    /// Starts <paramref name="nodes"/> nodes on a new SQLite file or a new PostgreSQL database;
    /// skips the spec when PostgreSQL is asked for and no server is available.
    /// </summary>
    public static Task<ClusterOn> StartAsync(string database, int nodes, ITestOutputHelper output, params string[] nodeArguments) =>
        StartAsync(database, nodes, output, nodeArguments, nodeDll: null);

    /// <summary>As <see cref="StartAsync(string, int, ITestOutputHelper, string[])"/>, with the nodes of <paramref name="nodeDll"/> (another release).</summary>
    public static async Task<ClusterOn> StartAsync(string database, int nodes, ITestOutputHelper output, string[] nodeArguments, string? nodeDll)
    {
        PostgresDatabase? postgres = null;
        if (database == "postgres")
        {
            Prerequisites.SkipIfMissing(PostgresDatabase.Unavailable(), output);
            postgres = await PostgresDatabase.CreateAsync();
        }

        try
        {
            var cluster = await LocalCluster.StartAsync(nodes, postgres is null ? null : $"postgres:{postgres.ConnectionString}",
                nodeArguments: nodeArguments, nodeDll: nodeDll);
            return new ClusterOn(cluster, postgres);
        }
        catch
        {
            if (postgres is not null)
                await postgres.DisposeAsync();
            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync();
        if (_database is not null)
            await _database.DisposeAsync();
    }
}
