using Microsoft.Data.Sqlite;
using Npgsql;

namespace EventCluster.Node.Journal;

/// <summary>The journal cannot be opened; the node must not start.</summary>
public sealed class JournalUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Opens the journal database once before the actor system starts, so that a journal the node
/// cannot use is a clear fatal error at start-up instead of entities failing one by one.
/// </summary>
public static class JournalBootstrap
{
    /// <summary>Checks the journal and prepares it for several writers; throws <see cref="JournalUnavailableException"/>.</summary>
    public static async Task PrepareAsync(JournalSettings journal, CancellationToken cancellationToken)
    {
        switch (journal.Kind)
        {
            case "sqlite":
                await PrepareSqliteAsync(journal, cancellationToken);
                break;
            case "postgres":
                await PreparePostgresAsync(journal, cancellationToken);
                break;
            default:
                throw new JournalUnavailableException($"unknown journal kind {journal.Kind}");
        }
    }

    private static async Task PrepareSqliteAsync(JournalSettings journal, CancellationToken cancellationToken)
    {
        var builder = new SqliteConnectionStringBuilder(journal.ConnectionString);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(builder.DataSource)!);
            await using var connection = new SqliteConnection(journal.ConnectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            // WAL lets readers run beside the one writer and is a property of the file, so
            // setting it once serves every node process that opens the journal.
            command.CommandText = "PRAGMA journal_mode=WAL;";
            var mode = (string?)await command.ExecuteScalarAsync(cancellationToken);
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
                throw new JournalUnavailableException($"{journal.Description} refused WAL mode (got '{mode}')");
            // The tables exist before anything reads them (journal queries may come first).
            SqliteJournalStore.CreateSchema(connection);
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException)
        {
            throw new JournalUnavailableException($"cannot open the journal, {journal.Description}: {ex.Message}", ex);
        }
    }

    private static async Task PreparePostgresAsync(JournalSettings journal, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(15));
            // Outside the driver's pool: the node's connections are the journal's own, counted.
            await using var connection = new NpgsqlConnection(PostgresJournalStore.Dedicated(journal.ConnectionString));
            await connection.OpenAsync(timeout.Token);
            // The tables exist before anything reads them (journal queries may come first).
            PostgresJournalStore.CreateSchema(connection);
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or InvalidOperationException)
        {
            throw new JournalUnavailableException($"cannot open the journal, {journal.Description}: {ex.Message}", ex);
        }
    }
}
