using EventCluster.Node.Journal;
using EventCluster.Tests.Support;
using Microsoft.Data.Sqlite;

namespace EventCluster.Tests.Unit;

/// <summary>
/// The embedded journal's connections come from the SQLite driver's pool, which hands a connection
/// back as it was closed: one left inside a transaction (a statement failed on a full disk) must
/// not make every later journal read and write on the node fail.
/// </summary>
public sealed class SqliteConnectionSpecs : IDisposable
{
    private readonly TempDirectory _directory = new("sqlite-connection-specs");

    [Fact]
    public void Should_roll_back_a_transaction_a_pooled_connection_was_closed_in_before_it_is_used_again()
    {
        var settings = JournalSettings.Parse($"sqlite:{Path.Combine(_directory.Path, "journal.db")}");
        SqliteJournalStore.Open(settings.ConnectionString).Dispose();
        using (var left = new SqliteConnection(settings.ConnectionString))
        {
            left.Open();
            using var command = left.CreateCommand();
            command.CommandText = """
                BEGIN IMMEDIATE;
                INSERT INTO eventcluster_group (name, position, member, lease_until, updated) VALUES ('never-committed', 7, NULL, 0, 0);
                """;
            command.ExecuteNonQuery();
        }

        // The journal's own stores and the read side (which applies the same tuning) both take it.
        using (var store = SqliteJournalStore.Open(settings.ConnectionString))
            Assert.DoesNotContain(store.ListGroups(), group => group.Name == "never-committed");
        using (var reader = new SqliteConnection(settings.ConnectionString))
        {
            reader.Open();
            SqliteConnectionTuning.Apply(reader);
            using var command = reader.CreateCommand();
            command.CommandText = "BEGIN IMMEDIATE; INSERT INTO eventcluster_group (name, position, member, lease_until, updated) VALUES ('committed', 1, NULL, 0, 0); COMMIT;";
            command.ExecuteNonQuery();
        }

        using var outside = new SqliteConnection($"Data Source={Path.Combine(_directory.Path, "journal.db")};Pooling=false");
        outside.Open();
        using var count = outside.CreateCommand();
        count.CommandText = "SELECT group_concat(name) FROM eventcluster_group";
        Assert.Equal("committed", count.ExecuteScalar());
    }

    /// <inheritdoc />
    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }
}
