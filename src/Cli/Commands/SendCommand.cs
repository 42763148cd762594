using System.Text.Json.Nodes;
using EventCluster.Cli.Terminal;
using EventCluster.Client;
using EventCluster.Messages.Commands;

namespace EventCluster.Cli.Commands;

/// <summary><c>send</c>: submits one event, retrying with the same event id until it is acknowledged.</summary>
public static class SendCommand
{
    /// <summary>Time one attempt waits for the acknowledgement before the event is sent again.</summary>
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Pause before an event the journal could not store is sent again by <c>load</c>.</summary>
    public static readonly TimeSpan NotStoredBackoff = TimeSpan.FromMilliseconds(500);

    /// <summary>Validates the options into an event; throws <see cref="UsageException"/> on bad input.</summary>
    public static SubmitEvent ParseEvent(Arguments args)
    {
        try
        {
            return EventClusterClient.NewEvent(args.Required("--entity"), args.Required("--type"), args.Value<string>("--data"), args.Value<string>("--id"));
        }
        catch (ArgumentException ex)
        {
            throw new UsageException(ex.Message);
        }
    }

    public static async Task<int> RunAsync(Arguments args, ConnectionSettings settings)
    {
        if (args.Value<string>("--file") is { } file)
            return await SendFileCommand.RunAsync(args, settings, file);
        if (args.Value<string>("--acked") is not null)
            throw new UsageException("--acked records the events of --file");
        foreach (var required in (string[])["--entity", "--type"])
            if (args.Value<string>(required) is null)
                throw new UsageException($"Option '{required}' is required (or --file EVENTS.ndjson)");
        var command = ParseEvent(args);
        var json = args.Flag("--json");
        await using var client = settings.Client();
        try
        {
            var accepted = await client.SendAsync(command);
            if (json)
                Output.WriteJson(accepted);
            else
                Console.Out.WriteLine($"{(accepted.Duplicate ? "duplicate" : "accepted")} entity={accepted.EntityId} " +
                                      $"event={accepted.EventId} version={accepted.Version} position={accepted.Position?.ToString() ?? "unknown"} node={accepted.Node} " +
                                      $"duplicate={accepted.Duplicate.ToString().ToLowerInvariant()}");
            return ExitCodes.Success;
        }
        catch (EventRejectedException rejected)
        {
            if (json)
                Output.WriteJson(new JsonObject
                {
                    ["entityId"] = rejected.EntityId, ["eventId"] = rejected.EventId, ["rejected"] = true, ["reason"] = rejected.Reason,
                });
            Output.Error($"rejected: {rejected.Reason}");
            return ExitCodes.Rejected;
        }
        catch (EventNotStoredException notStored)
        {
            if (json)
                Output.WriteJson(new JsonObject
                {
                    ["entityId"] = notStored.EntityId, ["eventId"] = notStored.EventId, ["stored"] = false, ["reason"] = notStored.Reason,
                });
            Output.Error($"not stored: {notStored.Reason}; send it again with --id {command.EventId} once the journal is back " +
                         "(a repeat of a stored event is recognised as a duplicate)");
            return ExitCodes.Unavailable;
        }
    }
}
