using EventCluster.Node.Api;
using EventCluster.Node.Hosting;
using EventCluster.Node.Journal;

// Exit codes: 0 after a graceful leave, 1 when the journal cannot be opened or the cluster downed
// this node, 2 for bad options.
var commandLine = NodeCommandLine.Parse(args);
if (commandLine.Errors.Count == 0 && commandLine.Action is not null)
    return commandLine.Invoke(); // --help or --version

NodeSettings settings;
try
{
    // Later layers win: the command line over the environment over appsettings.json.
    var configuration = new ConfigurationBuilder()
        .SetBasePath(AppContext.BaseDirectory)
        .AddJsonFile("appsettings.json", optional: true)
        .AddNodeEnvironmentVariables()
        .AddNodeCommandLine(commandLine)
        .Build();
    settings = NodeSettings.Load(commandLine, configuration);
}
catch (NodeOptionsException ex)
{
    Console.Error.WriteLine($"EventCluster.Node: {ex.Message}");
    NodeCommandLine.WriteSuggestions(commandLine, Console.Error);
    Console.Error.WriteLine("See EventCluster.Node --help for the options.");
    return 2;
}

IHost host;
if (settings.HttpPort > 0)
{
    host = NodeWebApplication.Build(settings);
}
else
{
    var generic = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = AppContext.BaseDirectory });
    generic.ConfigureEventClusterNode(settings);
    host = generic.Build();
}

var log = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("EventCluster.Node");
try
{
    await JournalBootstrap.PrepareAsync(settings.Journal, CancellationToken.None);
}
catch (JournalUnavailableException ex)
{
    log.LogCritical("Journal unavailable, the node will not start: {Reason}", ex.Message);
    // Disposing the host flushes the console logger's queue, so the reason is never lost.
    if (host is IAsyncDisposable disposable)
        await disposable.DisposeAsync();
    else
        host.Dispose();
    return 1;
}

log.LogInformation("Starting node {Address} (bind {BindHost}, {Scheme} {HttpPort}, API tokens {Tokens}), joins through {Join}, journal {Journal}, data {DataDir}",
    settings.SelfAddress, settings.BindHost, settings.HttpCertificate is null ? "HTTP" : "HTTPS", settings.HttpPort == 0 ? "off" : settings.HttpPort.ToString(),
    settings.Tokens.Required ? string.Join(",", settings.Tokens.Entries.Select(t => t.Name)) : "none (the API is open)",
    settings.JoinDescription, settings.Journal.Description, settings.DataDir);
// The young-generation budget sets how long each collection pauses the node; only the environment can set it.
log.LogInformation("Garbage collection: {Kind}, young-generation budget {Budget}",
    System.Runtime.GCSettings.IsServerGC ? "server" : "workstation",
    Environment.GetEnvironmentVariable("DOTNET_GCgen0size") is { Length: > 0 } budget
        ? $"DOTNET_GCgen0size={budget}"
        : "the runtime's default (DOTNET_GCgen0size=0x1000000 shortens the pauses: README, \"Garbage collection\")");
try
{
    await host.RunAsync();
}
catch (OperationCanceledException) when (NodeLifetime.StoppedByFailure)
{
    // The node stopped while the host was still starting (its cluster bootstrap could not start): the
    // reason is in the log, and the exit code says it.
}

return NodeLifetime.ExitCode;
