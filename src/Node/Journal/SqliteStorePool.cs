using System.Collections.Concurrent;

namespace EventCluster.Node.Journal;

/// <summary>
/// Connections to the embedded journal file for reads and snapshot work, each used by one pool
/// thread at a time. A connection that failed is closed; the next call opens a fresh one.
/// </summary>
public sealed class SqliteStorePool(string connectionString) : IDisposable
{
    private readonly ConcurrentBag<SqliteJournalStore> _idle = [];

    /// <summary>HOCON of a persistence plugin of <paramref name="type"/> on the SQLite file of a connection string.</summary>
    public static string PluginHocon(string pluginId, Type type, string quotedConnectionString) => $$"""
        {{pluginId}} {
          class = "{{type.FullName}}, {{type.Assembly.GetName().Name}}"
          plugin-dispatcher = "akka.actor.default-dispatcher"
          connection-string = {{quotedConnectionString}}
        }
        """;

    /// <summary>Runs <paramref name="work"/> on a pool thread with a connection of the pool.</summary>
    public Task<T> RunAsync<T>(Func<SqliteJournalStore, T> work) => Task.Run(() =>
    {
        var store = _idle.TryTake(out var pooled) ? pooled : SqliteJournalStore.Open(connectionString);
        try
        {
            var result = work(store);
            _idle.Add(store);
            return result;
        }
        catch
        {
            store.Discard();
            throw;
        }
    });

    /// <inheritdoc />
    public void Dispose()
    {
        while (_idle.TryTake(out var store))
            store.Dispose();
    }
}
