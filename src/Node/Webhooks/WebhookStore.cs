using System.Data.Common;
using System.Text.Json;
using EventCluster.Messages.Webhooks;
using EventCluster.Node.Journal;

namespace EventCluster.Node.Webhooks;

/// <summary>
/// A subscription as stored: its definition (with the secret), its delivery state, and its
/// generation (when it was added): a subscription removed and added again under the same name is
/// another one, which its predecessor's runner can no longer write to. <paramref name="SecretProblem"/>
/// says why its stored secret could not be opened (the definition then has none): such a
/// subscription is not run, so that nothing goes out unsigned.
/// </summary>
public sealed record WebhookRow(WebhookDefinition Definition, long Position, long Delivered, long Retries, string? LastError, string? Runner,
    long Generation, string? SecretProblem = null);

/// <summary>
/// The webhook tables in the journal database (<c>eventcluster_webhook</c> and
/// <c>eventcluster_webhook_parked</c>), with SQL both databases understand. Definitions live
/// beside the events, so every node sees the same ones and they survive any node.
/// </summary>
public static class WebhookStore
{
    private const string Columns = "name, url, types, entity_prefix, secret, max_attempts, concurrency, position, delivered, retries, last_error, runner";

    // Stores whose eventcluster_webhook is known to have the secret_sealed column.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IJournalStore, object> SealedColumnReady = new();

    /// <summary>A generation unique per name: the time the subscription was added, in ticks.</summary>
    private static long NewGeneration() => DateTimeOffset.UtcNow.UtcTicks;

    /// <summary>
    /// Stores a new subscription at <paramref name="position"/>, its secret sealed when
    /// <paramref name="secrets"/> has a key (in plain text otherwise: the caller checked that this
    /// is allowed); false when the name is taken.
    /// </summary>
    public static bool Insert(IJournalStore store, WebhookDefinition definition, long position, WebhookSecrets secrets)
    {
        EnsureSealedColumn(store);
        var seal = definition.Secret is { } secret && secrets.CanSeal;
        using var command = Command(store, $"""
            INSERT INTO eventcluster_webhook ({Columns}, created, secret_sealed)
            VALUES (@name, @url, @types, @prefix, @secret, @attempts, @concurrency, @position, 0, 0, NULL, NULL, @now, @sealed)
            ON CONFLICT (name) DO NOTHING
            """,
            ("@name", definition.Name), ("@url", definition.Url), ("@types", JsonSerializer.Serialize(definition.Types)),
            ("@prefix", definition.EntityPrefix), ("@secret", seal ? WebhookSecrets.SealedMarker : definition.Secret),
            ("@attempts", definition.MaxAttempts), ("@concurrency", definition.Concurrency), ("@position", position), ("@now", NewGeneration()),
            ("@sealed", seal ? secrets.Seal(definition.Name, definition.Secret!) : null));
        return command.ExecuteNonQuery() == 1;
    }

    /// <summary>Every subscription by name, or the one named, with its secret opened (or why it cannot be).</summary>
    public static List<WebhookRow> Load(IJournalStore store, WebhookSecrets secrets, string? name = null)
    {
        EnsureSealedColumn(store);
        using var command = name is null
            ? Command(store, $"SELECT {Columns}, created, secret_sealed FROM eventcluster_webhook ORDER BY name")
            : Command(store, $"SELECT {Columns}, created, secret_sealed FROM eventcluster_webhook WHERE name = @name", ("@name", name));
        var rows = new List<WebhookRow>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var rowName = reader.GetString(0);
            string? secret = reader.IsDBNull(4) ? null : reader.GetString(4), problem = null;
            if (!reader.IsDBNull(13))
            {
                try
                {
                    secret = secrets.Open(rowName, reader.GetString(13));
                }
                catch (WebhookSecretUnavailableException ex)
                {
                    (secret, problem) = (null, $"not delivering: {ex.Message}");
                }
            }

            var definition = new WebhookDefinition(rowName, reader.GetString(1),
                JsonSerializer.Deserialize<string[]>(reader.GetString(2)) ?? [], reader.IsDBNull(3) ? null : reader.GetString(3),
                secret, reader.GetInt32(5), reader.GetInt32(6));
            rows.Add(new WebhookRow(definition, reader.GetInt64(7), reader.GetInt64(8), reader.GetInt64(9),
                reader.IsDBNull(10) ? null : reader.GetString(10), reader.IsDBNull(11) ? null : reader.GetString(11), reader.GetInt64(12), problem));
        }

        return rows;
    }

    /// <summary>
    /// Seals every stored secret that is in plain text (from a release before sealing, or stored
    /// with <c>--allow-plaintext-secrets</c>) or sealed under a key other than the first, under
    /// the first key; the others stay as they are (one this node cannot open is left alone).
    /// Returns how many were sealed again. Does nothing without a key.
    /// </summary>
    public static int Reseal(IJournalStore store, WebhookSecrets secrets)
    {
        if (!secrets.CanSeal)
            return 0;
        EnsureSealedColumn(store);
        var stale = new List<(string Name, string? Plain, string? Sealed)>();
        using (var select = Command(store, "SELECT name, secret, secret_sealed FROM eventcluster_webhook"))
        using (var reader = select.ExecuteReader())
        {
            while (reader.Read())
            {
                var (plain, sealedValue) = (reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2));
                if (secrets.NeedsResealing(plain, sealedValue))
                    stale.Add((reader.GetString(0), plain, sealedValue));
            }
        }

        var count = 0;
        foreach (var (name, plain, sealedValue) in stale)
        {
            string secret;
            try
            {
                secret = sealedValue is null ? plain! : secrets.Open(name, sealedValue);
            }
            catch (WebhookSecretUnavailableException)
            {
                continue;
            }

            // Only if the row still holds what was read: a subscription replaced meanwhile keeps its own secret.
            using var update = Command(store, $"""
                UPDATE eventcluster_webhook SET secret = @marker, secret_sealed = @sealed
                WHERE name = @name AND {(sealedValue is null ? "secret_sealed IS NULL AND secret = @plain" : "secret_sealed = @old")}
                """,
                ("@marker", WebhookSecrets.SealedMarker), ("@sealed", secrets.Seal(name, secret)), ("@name", name), ("@plain", plain), ("@old", sealedValue));
            count += update.ExecuteNonQuery();
        }

        return count;
    }

    /// <summary>
    /// Adds the <c>secret_sealed</c> column to a table made by a release before sealing. Added, not
    /// changed: that release reads and writes the table as before (it never sees the column).
    /// </summary>
    private static void EnsureSealedColumn(IJournalStore store)
    {
        if (SealedColumnReady.TryGetValue(store, out _))
            return;
        if (!HasSealedColumn(store))
        {
            try
            {
                using var alter = Command(store, "ALTER TABLE eventcluster_webhook ADD COLUMN secret_sealed TEXT NULL");
                alter.ExecuteNonQuery();
            }
            catch (DbException) when (HasSealedColumn(store))
            {
                // Another node added it first.
            }
        }

        SealedColumnReady.AddOrUpdate(store, true);
    }

    private static bool HasSealedColumn(IJournalStore store)
    {
        try
        {
            using var probe = Command(store, "SELECT secret_sealed FROM eventcluster_webhook WHERE 1 = 0");
            probe.ExecuteNonQuery();
            return true;
        }
        catch (DbException)
        {
            return false;
        }
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
