using System.CommandLine;
using System.CommandLine.Parsing;

namespace EventCluster.Cli.Terminal;

/// <summary>
/// The options of the command being run, typed, as System.CommandLine parsed and checked them
/// (<see cref="CommandTree"/>): an option not given has its default there, or none.
/// </summary>
public sealed class Arguments(ParseResult parse)
{
    /// <summary>The command name (<c>send</c>; <c>webhooks</c> for <c>webhooks add</c>).</summary>
    public string Command { get; } = parse.CommandResult.Parent is CommandResult { Parent: not null } parent
        ? parent.Command.Name
        : parse.CommandResult.Command.Name;

    /// <summary>The second word of a two-word command (<c>create</c> in <c>certs create</c>), or null.</summary>
    public string? Action { get; } = parse.CommandResult.Parent is CommandResult { Parent: not null } ? parse.CommandResult.Command.Name : null;

    /// <summary>True when the flag was given.</summary>
    public bool Flag(string name) => parse.GetValue<bool>(name);

    /// <summary>The option's value: the one given, else its default (null or zero when it has none).</summary>
    public T? Value<T>(string name) => parse.GetValue<T>(name);

    /// <summary>The value of an option the command requires (the parser refused the command line without it).</summary>
    public string Required(string name) => parse.GetRequiredValue<string>(name);

    /// <summary>Every value of an option that may be repeated (<c>--type a --type b</c>), in order.</summary>
    public IReadOnlyList<string> Values(string name) => parse.GetValue<string[]>(name) ?? [];
}
