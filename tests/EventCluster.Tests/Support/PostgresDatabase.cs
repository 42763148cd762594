using Npgsql;

namespace EventCluster.Tests.Support;

/// <summary>
/// A fresh database on the PostgreSQL server named by <c>EVENTCLUSTER_TEST_POSTGRES</c> (a
/// connection string; <c>.ci/run</c> starts a throwaway server and sets it). Dropped on dispose.
/// </summary>
public sealed class PostgresDatabase : IAsyncDisposable
{
    /// <summary>The environment variable naming the test server.</summary>
    public const string ServerVariable = "EVENTCLUSTER_TEST_POSTGRES";

    private readonly string _server;

    private PostgresDatabase(string server, string name)
    {
        _server = server;
        Name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
    }

    /// <summary>The database's name.</summary>
    public string Name { get; }

    /// <summary>Connection string of the new database.</summary>
    public string ConnectionString { get; }

    /// <summary>Why no server is available, or null when one is.</summary>
    public static string? Unavailable() =>
        string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(ServerVariable))
            ? $"{ServerVariable} is not set (.ci/run starts a PostgreSQL server and sets it)"
            : null;

    /// <summary>Creates an empty database.</summary>
    public static async Task<PostgresDatabase> CreateAsync()
    {
        var server = Environment.GetEnvironmentVariable(ServerVariable)!;
        var database = new PostgresDatabase(server, $"eventcluster_{Guid.NewGuid():N}");
        await database.ExecuteOnServerAsync($"CREATE DATABASE {database.Name}");
        return database;
    }

    /// <summary>Runs a scalar query in this database.</summary>
    public async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await ExecuteOnServerAsync($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
    }

    private async Task ExecuteOnServerAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_server);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
