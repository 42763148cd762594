using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace EventCluster.Cli.Terminal;

/// <summary>
/// The options of the command being run, as System.CommandLine parsed them, with the product's
/// own range rules for numbers (each rule names the option and its bounds).
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
    public bool Flag(string name) => parse.GetResult(name) is OptionResult && parse.GetValue<bool>(name);

    /// <summary>The option's value, or null when it was not given.</summary>
    public string? Value(string name) => parse.GetResult(name) is OptionResult { Implicit: false } ? parse.GetValue<string>(name) : null;

    /// <summary>Every value of an option that may be repeated (<c>--type a --type b</c>), in order.</summary>
    public IReadOnlyList<string> Values(string name) =>
        parse.GetResult(name) is OptionResult { Implicit: false } ? parse.GetValue<string[]>(name) ?? [] : [];

    /// <summary>The option's value; fails when it is missing.</summary>
    public string Required(string name) => Value(name) ?? throw new UsageException($"'{Command}' needs {name}");

    /// <summary>The option as a whole number within bounds, or the fallback.</summary>
    public long Integer(string name, long fallback, long min, long max)
    {
        var value = Value(name);
        if (value is null)
            return fallback;
        if (!long.TryParse(value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out var number) ||
            number < min || number > max)
            throw new UsageException($"{name} '{value}' must be a whole number from {min} to {max}");
        return number;
    }

    /// <summary>The option as a positive number of seconds, or the fallback.</summary>
    public TimeSpan Seconds(string name, TimeSpan fallback)
    {
        var value = Value(name);
        if (value is null)
            return fallback;
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) ||
            seconds <= 0 || seconds > 86_400)
            throw new UsageException($"{name} '{value}' must be a number of seconds above 0");
        return TimeSpan.FromSeconds(seconds);
    }
}
