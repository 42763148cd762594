using System.Globalization;

namespace EventCluster.Client.Cli;

/// <summary>
/// The parsed command line: one command name and its options. Options may stand before or after
/// the command; an option the command does not take is an error, never ignored.
/// </summary>
public sealed class Arguments
{
    /// <summary>Options every command accepts.</summary>
    public static readonly IReadOnlySet<string> GlobalOptions = new HashSet<string> { "--seeds", "--timeout", "--tls-certificate", "--tls-password" };

    /// <summary>Commands made of two words (<c>certs create</c>).</summary>
    private static readonly IReadOnlySet<string> CommandsWithAction = new HashSet<string> { "certs", "webhooks" };

    private readonly Dictionary<string, List<string>> _values;
    private readonly HashSet<string> _flags;

    private Arguments(string? command, string? action, Dictionary<string, List<string>> values, HashSet<string> flags)
    {
        Command = command;
        Action = action;
        _values = values;
        _flags = flags;
    }

    /// <summary>The command name, or null when none was given.</summary>
    public string? Command { get; }

    /// <summary>The second word of a two-word command (<c>create</c> in <c>certs create</c>).</summary>
    public string? Action { get; }

    /// <summary>
    /// Splits the command line; <paramref name="flagNames"/> take no value, and an option that is
    /// neither a flag nor in <paramref name="valueNames"/> is refused by name.
    /// </summary>
    public static Arguments Parse(IReadOnlyList<string> args, IReadOnlySet<string> flagNames, IReadOnlySet<string> valueNames)
    {
        string? command = null;
        string? action = null;
        var values = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var flags = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                if (command is null)
                    command = arg;
                else if (action is null && CommandsWithAction.Contains(command))
                    action = arg;
                else
                    throw new UsageException($"unexpected argument '{arg}'");
                continue;
            }

            var equals = arg.IndexOf('=');
            var name = equals > 0 ? arg[..equals] : arg;
            if (flagNames.Contains(name))
            {
                if (equals > 0)
                    throw new UsageException($"option {name} takes no value");
                flags.Add(name);
                continue;
            }

            if (!valueNames.Contains(name))
                throw new UsageException($"unknown option '{name}'");
            string value;
            if (equals > 0)
                value = arg[(equals + 1)..];
            else if (i + 1 < args.Count)
                value = args[++i];
            else
                throw new UsageException($"option {name} needs a value");
            if (values.TryGetValue(name, out var earlier))
                earlier.Add(value);
            else
                values[name] = [value];
        }

        return new Arguments(command, action, values, flags);
    }

    /// <summary>Fails on any option outside <paramref name="allowed"/> (global options are always allowed).</summary>
    public void AllowOnly(params string[] allowed)
    {
        var known = new HashSet<string>(allowed.Concat(GlobalOptions));
        var unknown = _values.Keys.Concat(_flags).FirstOrDefault(name => !known.Contains(name));
        if (unknown is not null)
            throw new UsageException($"unknown option '{unknown}' for '{Command}'");
    }

    /// <summary>True when the flag was given.</summary>
    public bool Flag(string name) => _flags.Contains(name);

    /// <summary>The option's value, or null; fails when the option is given more than once.</summary>
    public string? Value(string name) =>
        _values.TryGetValue(name, out var values)
            ? values.Count == 1 ? values[0] : throw new UsageException($"option {name} is given twice")
            : null;

    /// <summary>Every value of an option that may be repeated (<c>--type a --type b</c>), in order.</summary>
    public IReadOnlyList<string> Values(string name) => _values.TryGetValue(name, out var values) ? values : [];

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
