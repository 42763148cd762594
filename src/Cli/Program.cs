using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using EventCluster.Cli.Commands;
using EventCluster.Cli.Terminal;
using EventCluster.Client;
using EventCluster.Messages.Security;
using EventCluster.Messages.Validation;

// The parser's messages and suggestions in one language whatever the machine's, as documented.
System.Globalization.CultureInfo.CurrentUICulture = System.Globalization.CultureInfo.InvariantCulture;
var root = CommandTree.Build(RunAsync);
// No response files: a value starting with '@' (a secret, a token, a path) is taken as written.
var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
if (parse.Errors.Count > 0 && parse.Action is ParseErrorAction parseError)
{
    // System.CommandLine's own messages, then its suggestions for each misspelt name; then where
    // to find the usage. Exit 2: nothing was sent.
    // "Required command was not provided" says nothing more when a misspelt command is named.
    var unmatched = parse.UnmatchedTokens.Count > 0;
    foreach (var error in parse.Errors.Where(e => !(unmatched && e.SymbolResult is CommandResult && e.Message.StartsWith("Required command", StringComparison.Ordinal))))
        Output.Error(error.Message);
    parseError.ShowHelp = false;
    parseError.ShowTypoCorrections = true;
    var printed = new StringWriter();
    parse.Invoke(new InvocationConfiguration { Error = printed, Output = printed });
    foreach (var suggestion in TypoCorrections(printed.ToString(), parse.Errors.Select(e => e.Message)))
        Output.Error(suggestion);
    Console.Error.WriteLine("run 'eventcluster --help' for usage");
    return ExitCodes.Usage;
}

// Ctrl-C and SIGTERM are the commands' own to handle (subscribe exits 0 on them), so the
// parser neither cancels nor waits on termination; failures map to the documented exit codes.
return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false });

static async Task<int> RunAsync(ParseResult parse)
{
    var parsed = new Arguments(parse);
    try
    {
        if (parsed.Command == "certs")
            return CertsCommand.Run(parsed);
        var connection = new ConnectionSettings(
            ParseSeeds(parsed.Value("--seeds") ?? Environment.GetEnvironmentVariable("EVENTCLUSTER_SEEDS") ?? "127.0.0.1:4053"),
            parsed.Value("--timeout") is null ? null : parsed.Seconds("--timeout", TimeSpan.Zero),
            LoadTls(parsed));
        return parsed.Command switch
        {
            "send" => await SendCommand.RunAsync(parsed, connection),
            "get" => await GetCommand.RunAsync(parsed, connection),
            "status" => await StatusCommand.RunAsync(parsed, connection),
            "load" => await LoadCommand.RunAsync(parsed, connection),
            "verify" => await VerifyCommand.RunAsync(parsed, connection),
            "history" => await HistoryCommand.RunAsync(parsed, connection),
            "subscribe" => await SubscribeCommand.RunAsync(parsed, connection),
            "groups" => await GroupsCommand.RunAsync(parsed, connection),
            "webhooks" => await WebhooksCommand.RunAsync(parsed, connection),
            _ => throw new UsageException($"'{parsed.Command}' needs a command: run 'eventcluster {parsed.Command} --help'"),
        };
    }
    catch (UsageException ex)
    {
        Output.Error(ex.Message);
        Console.Error.WriteLine("run 'eventcluster --help' for usage");
        return ExitCodes.Usage;
    }
    catch (ClusterUnreachableException ex)
    {
        Output.Error(ex.Message);
        return ExitCodes.Unreachable;
    }
    catch (IOException ex)
    {
        Output.Error(ex.Message);
        return ExitCodes.Usage;
    }
    catch (Exception ex)
    {
        Output.Error($"unexpected failure: {ex.GetBaseException().Message}");
        return ExitCodes.Rejected;
    }
}

static System.Security.Cryptography.X509Certificates.X509Certificate2? LoadTls(Arguments parsed)
{
    var path = parsed.Value("--tls-certificate") ?? NonEmpty(Environment.GetEnvironmentVariable(RemoteTls.CertificateVariable));
    var password = parsed.Value("--tls-password") ?? NonEmpty(Environment.GetEnvironmentVariable(RemoteTls.PasswordVariable));
    if (path is null)
        return password is null ? null : throw new UsageException("--tls-password is given without --tls-certificate");
    try
    {
        return RemoteTls.Load(path, password);
    }
    catch (TlsConfigurationException ex)
    {
        throw new UsageException(ex.Message);
    }
}

static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

static IReadOnlyList<string> ParseSeeds(string value)
{
    try
    {
        return SeedList.Parse(value);
    }
    catch (FormatException ex)
    {
        throw new UsageException(ex.Message);
    }
}

// The parser prints "'x' was not matched. Did you mean one of the following?" followed by one
// name a line, among its error messages; each becomes one line: "did you mean send? ('sned')".
static IEnumerable<string> TypoCorrections(string printed, IEnumerable<string> errors)
{
    var known = errors.ToHashSet(StringComparer.Ordinal);
    string? token = null;
    var names = new List<string>();
    foreach (var line in printed.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Append(""))
    {
        var startsBlock = line.Contains("Did you mean", StringComparison.Ordinal);
        if (startsBlock || known.Contains(line) || line.Length == 0)
        {
            if (token is not null && names.Count > 0)
                yield return $"did you mean {string.Join(" or ", names)}? ({token})";
            token = startsBlock ? line[..line.IndexOf(" was not matched", StringComparison.Ordinal)] : null;
            names.Clear();
        }
        else if (token is not null && line is not ("-h" or "-?" or "--help"))
            names.Add(line);
    }
}
