using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;
using Akka.Hosting.Logging;
using EventCluster.Messages;
using MsLogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace EventCluster.Node.Hosting;

/// <summary>
/// Routes Akka's log events to Microsoft.Extensions.Logging as plain messages, with the log
/// source as the category (the actor name, or the Akka component), so every line of a node has
/// one format: time, level, source, message.
/// </summary>
public sealed class AkkaLogBridge : ActorBase, IRequiresMessageQueue<ILoggerMessageQueueSemantics>
{
    private readonly ILoggerFactory _factory;
    private readonly Dictionary<string, ILogger> _loggers = new(StringComparer.Ordinal);

    /// <summary>Created by the Akka logging system; takes the host's logger factory from the system's setup.</summary>
    public AkkaLogBridge()
    {
        var setup = Context.System.Settings.Setup.Get<LoggerFactorySetup>();
        _factory = setup.HasValue ? setup.Value.LoggerFactory : Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance;
    }

    /// <inheritdoc />
    protected override bool Receive(object message)
    {
        switch (message)
        {
            case InitializeLogger:
                Sender.Tell(new LoggerInitialized());
                return true;
            case LogEvent log:
                var text = log.Message?.ToString();
                LoggerFor(log.LogSource).Log(LevelOf(log, text), log.Cause, "{Message}", text);
                return true;
            default:
                return false;
        }
    }

    private ILogger LoggerFor(string source)
    {
        if (!_loggers.TryGetValue(source, out var logger))
            _loggers[source] = logger = _factory.CreateLogger(CategoryOf(source));
        return logger;
    }

    // "akka.tcp://eventcluster@host:4053/user/membership-listener" → "membership-listener";
    // "Cluster (akka://eventcluster)" → "akka.Cluster".
    private static string CategoryOf(string source)
    {
        var paren = source.IndexOf(" (", StringComparison.Ordinal);
        if (paren > 0)
            return "akka." + source[..paren];

        var scheme = source.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0)
            return source;
        var path = source[(scheme + 3)..];
        var slash = path.IndexOf('/');
        return slash < 0 ? path : path[(slash + 1)..];
    }

    // A client ("eventcluster-client" system) that connects, sends and exits is routine, not a
    // fault of the cluster: Akka reports each disconnect as a failed association with a stack
    // trace, which would bury the cluster's own warnings.
    private static MsLogLevel LevelOf(LogEvent log, string? text) =>
        log.LogSource.Contains(ClusterNames.ClientSystemName, StringComparison.Ordinal) || text?.Contains(ClusterNames.ClientSystemName, StringComparison.Ordinal) == true
            ? MsLogLevel.Debug
            : LevelOf(log.LogLevel());

    private static MsLogLevel LevelOf(Akka.Event.LogLevel level) => level switch
    {
        Akka.Event.LogLevel.DebugLevel => MsLogLevel.Debug,
        Akka.Event.LogLevel.InfoLevel => MsLogLevel.Information,
        Akka.Event.LogLevel.WarningLevel => MsLogLevel.Warning,
        _ => MsLogLevel.Error,
    };
}
