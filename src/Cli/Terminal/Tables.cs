using Spectre.Console;

namespace EventCluster.Cli.Terminal;

/// <summary>
/// Tables on standard output: drawn by Spectre.Console when standard output is a terminal,
/// plain space-separated columns otherwise (scripts, pipes, logs).
/// </summary>
public static class Tables
{
    /// <summary>Writes one table; columns whose header starts with '>' are right-aligned (the '>' is not shown).</summary>
    public static void Write(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        var right = headers.Select(h => h.StartsWith('>')).ToArray();
        var names = headers.Select(h => h.TrimStart('>')).ToArray();
        var cells = rows.ToList();
        if (!Console.IsOutputRedirected)
        {
            var table = new Table().Border(TableBorder.Rounded);
            for (var i = 0; i < names.Length; i++)
                table.AddColumn(new TableColumn(Markup.Escape(names[i])) { Alignment = right[i] ? Justify.Right : Justify.Left });
            foreach (var row in cells)
                table.AddRow(row.Select(cell => Markup.Escape(cell)).ToArray());
            AnsiConsole.Write(table);
            return;
        }

        var widths = names.Select((name, i) => cells.Select(row => row[i].Length).Append(name.Length).Max()).ToArray();
        string Line(IReadOnlyList<string> row) =>
            string.Join("  ", row.Select((cell, i) => i == row.Count - 1 && !right[i] ? cell : right[i] ? cell.PadLeft(widths[i]) : cell.PadRight(widths[i])));
        Console.Out.WriteLine(Line(names));
        foreach (var row in cells)
            Console.Out.WriteLine(Line(row));
    }
}
