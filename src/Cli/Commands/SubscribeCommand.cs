using System.Runtime.InteropServices;
using System.Text;
using EventCluster.Cli.Terminal;
using EventCluster.Client;
using EventCluster.Client.Subscriptions;
using EventCluster.Messages.Validation;

namespace EventCluster.Cli.Commands;

/// <summary>
/// <c>subscribe</c>: prints the events of the log that match a filter, in position order: the
/// stored ones, then live ones as they are committed (the library's subscription, which resumes
/// through another node by itself and keeps a group's position).
/// </summary>
public static class SubscribeCommand
{
    public static async Task<int> RunAsync(Arguments args, ConnectionSettings settings)
    {
        var options = new SubscribeOptions
        {
            From = args.Value<long>("--from"),
            Types = args.Values("--type").ToList(),
            EntityId = args.Value<string>("--entity"),
            EntityPrefix = args.Value<string>("--entity-prefix"),
            Group = args.Value<string>("--group"),
            Max = args.Value<long?>("--max") ?? long.MaxValue,
            OnNotice = notice =>
            {
                if (notice.Kind == SubscriptionNoticeKind.Warning)
                    Output.Error(notice.Message);
                else
                    Console.Error.WriteLine(notice.Message);
            },
        };
        if (EventValidation.CheckFilter(options.Filter) is { } filterProblem)
            throw new UsageException(options is { EntityId: not null, EntityPrefix: not null } ? "give --entity or --entity-prefix, not both" : filterProblem);
        if (options.Group is not null && EventValidation.CheckGroup(options.Group) is { } groupProblem)
            throw new UsageException(groupProblem);
        var json = args.Flag("--json");

        using var stop = new CancellationTokenSource();
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => Stop(context, stop));
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => Stop(context, stop));

        await using var client = settings.Client();
        var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { AutoFlush = false };
        try
        {
            await using var events = client.SubscribeAsync(options, stop.Token).GetAsyncEnumerator(stop.Token);
            while (true)
            {
                // Lines are written in blocks, flushed whenever the next event is not there yet.
                // Asking for the next event tells a group this one is handled, so in a group the
                // line is out first: a confirmed event has always been printed.
                if (options.Group is not null)
                    await stdout.FlushAsync(CancellationToken.None);
                var next = events.MoveNextAsync();
                if (!next.IsCompleted)
                    await stdout.FlushAsync(CancellationToken.None);
                if (!await next)
                    break;
                stdout.WriteLine(json ? EventLines.Json(events.Current) : EventLines.Text(events.Current));
            }

            await stdout.FlushAsync(CancellationToken.None);
            return ExitCodes.Success;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return ExitCodes.Success;
        }
        catch (EventClusterRejectedException ex)
        {
            Output.Error(ex.Message);
            return ExitCodes.Rejected;
        }
        finally
        {
            await stdout.FlushAsync(CancellationToken.None);
        }
    }

    private static void Stop(PosixSignalContext context, CancellationTokenSource stop)
    {
        context.Cancel = true;
        stop.Cancel();
    }
}
