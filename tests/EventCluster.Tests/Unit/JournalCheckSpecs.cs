using EventCluster.Cli.Commands;
using EventCluster.Messages.Queries;

namespace EventCluster.Tests.Unit;

public sealed class JournalCheckSpecs
{
    private static readonly AckedRecord[] Acked = [new("a", "1"), new("a", "2"), new("b", "3")];

    private static Dictionary<string, IReadOnlyList<JournalEntry>> Journals(params (string Entity, string[] Ids)[] journals) =>
        journals.ToDictionary(j => j.Entity,
            j => (IReadOnlyList<JournalEntry>)j.Ids.Select((id, i) => new JournalEntry(i + 1, id)).ToList());

    [Fact]
    public void Should_pass_when_every_acknowledged_event_is_applied_once()
    {
        var result = JournalCheck.Check(Acked, Acked, Journals(("a", ["1", "2"]), ("b", ["3"])));

        Assert.True(result.Ok);
        Assert.Equal((2, 3, 3L), (result.Entities, result.Acked, result.Applied));
    }

    [Fact]
    public void Should_report_an_acknowledged_event_missing_from_the_journal_as_lost()
    {
        var result = JournalCheck.Check(Acked, Acked, Journals(("a", ["1"]), ("b", ["3"])));

        Assert.False(result.Ok);
        Assert.Equal(1, result.Lost);
        Assert.Contains(result.Examples, e => e.Contains("lost: entity a event 2"));
    }

    [Fact]
    public void Should_report_an_event_applied_twice_as_duplicated()
    {
        var result = JournalCheck.Check(Acked, Acked, Journals(("a", ["1", "2", "2"]), ("b", ["3"])));

        Assert.False(result.Ok);
        Assert.Equal(1, result.Duplicated);
        Assert.Equal(0, result.Lost);
    }

    [Fact]
    public void Should_report_an_event_never_sent_as_unexpected()
    {
        var result = JournalCheck.Check(Acked, Acked, Journals(("a", ["1", "2", "zzz"]), ("b", ["3"])));

        Assert.False(result.Ok);
        Assert.Equal(1, result.Unexpected);
    }

    [Fact]
    public void Should_accept_a_sent_but_unacknowledged_event_that_was_applied()
    {
        AckedRecord[] sent = [.. Acked, new("b", "4")];

        var result = JournalCheck.Check(Acked, sent, Journals(("a", ["1", "2"]), ("b", ["3", "4"])));

        Assert.True(result.Ok);
    }

    [Fact]
    public void Should_report_a_gap_in_sequence_numbers()
    {
        var journals = Journals(("a", ["1", "2"]), ("b", ["3"]));
        journals["a"] = [new JournalEntry(1, "1"), new JournalEntry(3, "2")];

        var result = JournalCheck.Check(Acked, Acked, journals);

        Assert.False(result.Ok);
        Assert.Equal(1, result.Gaps);
    }
}
