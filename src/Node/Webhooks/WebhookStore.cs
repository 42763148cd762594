using System.Data.Common;
using System.Text.Json;
using EventCluster.Messages.Webhooks;
using EventCluster.Node.Journal;

namespace EventCluster.Node.Webhooks;

/// <summary>
/// A subscription as stored: its definition (with the secret), its delivery state, and its
/// generation (when it was added): a subscription removed and added again under the same name is
/// another one, which its predecessor's runner can no longer write to.
/// </summary>
public sealed record WebhookRow(WebhookDefinition Definition, long Position, long Delivered, long Retries, string? LastError, string? Runner,
    long Generation);

/// <summary>
/// The webhook tables in the journal database (<c>eventcluster_webhook</c> and
/// <c>eventcluster_webhook_parked</c>), with SQL both databases understand. Definitions live
/// beside the events, so every node sees the same ones and they survive any node.
/// </summary>
public static class WebhookStore
{
    private const string Columns = "name, url, types, entity_prefix, secret, max_attempts, concurrency, position, delivered, retries, last_error, runner";

    /// <summary>A generation unique per name: the time the subscription was added, in ticks.</summary>
    private static long NewGeneration() => DateTimeOffset.UtcNow.UtcTicks;

    /// <summary>Stores a new subscription at <paramref name="position"/>; false when the name is taken.</summary>
    public static bool Insert(IJournalStore store, WebhookDefinition definition, long position)
    {
        using var command = Command(store, $"""
            INSERT INTO eventcluster_webhook ({Columns}, created)
            VALUES (@name, @url, @types, @prefix, @secret, @attempts, @concurrency, @position, 0, 0, NULL, NULL, @now)
            ON CONFLICT (name) DO NOTHING
            """,
            ("@name", definition.Name), ("@url", definition.Url), ("@types", JsonSerializer.Serialize(definition.Types)),
            ("@prefix", definition.EntityPrefix), ("@secret", definition.Secret), ("@attempts", definition.MaxAttempts),
            ("@concurrency", definition.Concurrency), ("@position", position), ("@now", NewGeneration()));
        return command.ExecuteNonQuery() == 1;
    }

    /// <summary>Every subscription by name, or the one named.</summary>
    public static List<WebhookRow> Load(IJournalStore store, string? name = null)
    {
        using var command = name is null
            ? Command(store, $"SELECT {Columns}, created FROM eventcluster_webhook ORDER BY name")
            : Command(store, $"SELECT {Columns}, created FROM eventcluster_webhook WHERE name = @name", ("@name", name));
        var rows = new List<WebhookRow>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var definition = new WebhookDefinition(reader.GetString(0), reader.GetString(1),
                JsonSerializer.Deserialize<string[]>(reader.GetString(2)) ?? [], reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetInt32(5), reader.GetInt32(6));
            rows.Add(new WebhookRow(definition, reader.GetInt64(7), reader.GetInt64(8), reader.GetInt64(9),
                reader.IsDBNull(10) ? null : reader.GetString(10), reader.IsDBNull(11) ? null : reader.GetString(11), reader.GetInt64(12)));
        }

        return rows;
    }

    /// <summary>Removes a subscription and its parked events, in one transaction; false when there was none.</summary>
    public static bool Delete(IJournalStore store, string name)
    {
        using var transaction = store.Connection.BeginTransaction();
        using (var parked = Command(store, "DELETE FROM eventcluster_webhook_parked WHERE name = @name", ("@name", name)))
        {
            parked.Transaction = transaction;
            parked.ExecuteNonQuery();
        }

        using var command = Command(store, "DELETE FROM eventcluster_webhook WHERE name = @name", ("@name", name));
        command.Transaction = transaction;
        var deleted = command.ExecuteNonQuery() == 1;
        transaction.Commit();
        return deleted;
    }

    /// <summary>Stores how far a subscription got, its counters and its runner; false when it was removed (or replaced) meanwhile.</summary>
    public static bool Checkpoint(IJournalStore store, string name, long generation, long position, long delivered, long retries, string? lastError,
        string? runner)
    {
        using var command = Command(store, """
            UPDATE eventcluster_webhook SET position = @position, delivered = @delivered, retries = @retries, last_error = @error, runner = @runner
            WHERE name = @name AND created = @generation
            """,
            ("@name", name), ("@generation", generation), ("@position", position), ("@delivered", delivered), ("@retries", retries), ("@error", lastError), ("@runner", runner));
        return command.ExecuteNonQuery() == 1;
    }

    /// <summary>Parks an event (or updates the one parked at that position), unless the subscription was removed or replaced.</summary>
    public static void Park(IJournalStore store, string name, long generation, ParkedEvent parked)
    {
        using var command = Command(store, """
            INSERT INTO eventcluster_webhook_parked (name, position, entity_id, version, event_id, attempts, last_error, parked_at)
            SELECT @name, @position, @entity, @version, @event, @attempts, @error, @at
            WHERE EXISTS (SELECT 1 FROM eventcluster_webhook WHERE name = @name AND created = @generation)
            ON CONFLICT (name, position) DO UPDATE SET attempts = excluded.attempts, last_error = excluded.last_error, parked_at = excluded.parked_at
            """,
            ("@name", name), ("@generation", generation), ("@position", parked.Position), ("@entity", parked.EntityId), ("@version", parked.Version), ("@event", parked.EventId),
            ("@attempts", parked.Attempts), ("@error", parked.LastError), ("@at", parked.ParkedAt.ToUnixTimeMilliseconds()));
        command.ExecuteNonQuery();
    }

    /// <summary>The parked events of a subscription, in position order.</summary>
    public static List<ParkedEvent> Parked(IJournalStore store, string name)
    {
        using var command = Command(store, """
            SELECT position, entity_id, version, event_id, attempts, last_error, parked_at FROM eventcluster_webhook_parked
            WHERE name = @name ORDER BY position
            """, ("@name", name));
        var parked = new List<ParkedEvent>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
            parked.Add(new ParkedEvent(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3), reader.GetInt32(4),
                reader.GetString(5), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6))));
        return parked;
    }

    /// <summary>Parked events per subscription.</summary>
    public static Dictionary<string, long> ParkedCounts(IJournalStore store)
    {
        using var command = Command(store, "SELECT name, COUNT(*) FROM eventcluster_webhook_parked GROUP BY name");
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        using var reader = command.ExecuteReader();
        while (reader.Read())
            counts[reader.GetString(0)] = reader.GetInt64(1);
        return counts;
    }

    /// <summary>Removes a parked event once it was delivered.</summary>
    public static void Unpark(IJournalStore store, string name, long position)
    {
        using var command = Command(store, "DELETE FROM eventcluster_webhook_parked WHERE name = @name AND position = @position",
            ("@name", name), ("@position", position));
        command.ExecuteNonQuery();
    }

    private static DbCommand Command(IJournalStore store, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = store.Connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }
}
