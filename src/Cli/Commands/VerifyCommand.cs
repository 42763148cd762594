using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using EventCluster.Cli.Terminal;
using EventCluster.Client;
using EventCluster.Client.Connection;
using EventCluster.Messages.Queries;
using EventCluster.Messages.Replies;

namespace EventCluster.Cli.Commands;

/// <summary>
/// <c>verify</c>: reads every entity of an acked file back from its journal and reports lost,
/// duplicated and unexpected events; exit 1 when any is found.
/// </summary>
public static class VerifyCommand
{
    private const int PageSize = 5_000;
    private const int Parallelism = 16;

    // A journal read is tried this many times before verify gives up.
    private const int ReadAttempts = 3;

    public static async Task<int> RunAsync(Arguments args, ConnectionSettings settings)
    {
        var ackedPath = args.Required("--acked");
        var acked = AckedRecord.ReadAll(ackedPath);
        var sentPath = AckedRecord.SentFileOf(ackedPath);
        var sent = File.Exists(sentPath) ? AckedRecord.ReadAll(sentPath) : null;
        if (sent is null)
            Output.Error($"no {sentPath}: events applied but not acknowledged will count as unexpected");
        var perRequest = settings.Timeout ?? CommandTree.DefaultTimeout;

        var entityIds = acked.Concat(sent ?? []).Select(r => r.EntityId).Distinct().ToList();
        var journals = new ConcurrentDictionary<string, IReadOnlyList<JournalEntry>>();
        await using var connection = settings.Connect();
        await Parallel.ForEachAsync(entityIds, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (entityId, _) =>
            journals[entityId] = await ReadJournalAsync(connection, entityId, perRequest));

        var result = JournalCheck.Check(acked, sent, journals);
        if (args.Flag("--json"))
        {
            Output.WriteJson(new JsonObject
            {
                ["entities"] = result.Entities,
                ["acked"] = result.Acked,
                ["applied"] = result.Applied,
                ["lost"] = result.Lost,
                ["duplicated"] = result.Duplicated,
                ["unexpected"] = result.Unexpected,
                ["gaps"] = result.Gaps,
                ["ok"] = result.Ok,
                ["examples"] = new JsonArray(result.Examples.Select(e => (JsonNode)JsonValue.Create(e)).ToArray()),
            });
        }
        else
        {
            Console.Out.WriteLine($"entities: {result.Entities}  acked: {result.Acked}  applied: {result.Applied}  " +
                                  $"lost: {result.Lost}  duplicated: {result.Duplicated}  unexpected: {result.Unexpected}  gaps: {result.Gaps}");
            foreach (var example in result.Examples)
                Console.Out.WriteLine($"  {example}");
            Console.Out.WriteLine(result.Ok ? "OK: every acknowledged event is applied exactly once" : "FAILED");
        }

        return result.Ok ? ExitCodes.Success : ExitCodes.Rejected;
    }

    private static async Task<IReadOnlyList<JournalEntry>> ReadJournalAsync(ClusterConnection connection, string entityId, TimeSpan timeout)
    {
        var entries = new List<JournalEntry>();
        var from = 1L;
        var failures = 0;
        while (true)
        {
            object reply;
            try
            {
                reply = await connection.GetJournalAsync(entityId, from, PageSize, timeout);
            }
            catch (TimeoutException)
            {
                if (++failures < ReadAttempts)
                {
                    await AgainAsync(entityId, $"no answer within {timeout.TotalSeconds:0.#} s", failures);
                    continue;
                }

                throw ConnectionErrors.NoAnswer(connection.Seeds, timeout, $"the journal of entity {entityId}");
            }

            switch (reply)
            {
                case EntityJournalResult page:
                    failures = 0;
                    entries.AddRange(page.Entries);
                    if (!page.HasMore || page.Entries.Count == 0)
                        return entries;
                    from = page.Entries[^1].SequenceNr + 1;
                    break;
                case QueryRejected rejected when ++failures < ReadAttempts:
                    await AgainAsync(entityId, rejected.Reason, failures);
                    break;
                case QueryRejected rejected:
                    throw new ClusterUnreachableException($"reading the journal of entity {entityId} failed: {rejected.Reason}");
                default:
                    throw new InvalidOperationException($"unexpected reply {reply.GetType().Name}");
            }
        }
    }

    /// <summary>
    /// A read that failed is asked again after a pause (1 s, then 2 s): on a busy cluster a journal
    /// read can time out once, and a check that reads thousands of entities should not fail on one.
    /// Nothing is counted from a failed read; only the third failure in a row gives up.
    /// </summary>
    private static async Task AgainAsync(string entityId, string reason, int failures)
    {
        Output.Error($"reading the journal of entity {entityId} failed ({reason}); asking again");
        await Task.Delay(TimeSpan.FromSeconds(failures));
    }
}
