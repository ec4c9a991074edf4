using System.Globalization;
using Molmo.Eval.Reporting;
using Molmo.TestSupport;

namespace Molmo.Eval.Tests.Runner;

public class PaperResultsTests
{
    [Fact]
    public void Loads_tables_1_and_10()
    {
        var p = PaperResults.Load();
        Assert.Contains(p.Tables, t => t.Table == "1");
        Assert.Contains(p.Tables, t => t.Table == "10");
        Assert.All(p.Tables.Where(t => !t.Complete), t => Assert.False(string.IsNullOrWhiteSpace(t.Missing)));
        Assert.NotEmpty(p.For("clock_bench", "overall"));
        Assert.All(p.All, r => Assert.False(string.IsNullOrEmpty(r.Table)));
    }

    [Fact]
    public void Every_number_is_quoted_in_the_project_notes()
    {
        // Nothing may be invented: each value must appear in the notes, in the same sentence as its model or table.
        var notes = File.ReadAllText(Path.Combine(TestPaths.Shared, "docs", "pixmo-data-and-eval.md"));
        foreach (var r in PaperResults.Load().All)
        {
            var text = r.Value == Math.Floor(r.Value) && r.Value > 500
                ? r.Value.ToString("0", CultureInfo.InvariantCulture)
                : r.Value.ToString("0.0", CultureInfo.InvariantCulture);
            var line = notes.Split('\n').FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal) && l.Contains($"Table {r.Table}", StringComparison.Ordinal));
            Assert.True(line != null, $"Table {r.Table} {r.Model} {r.Metric} = {text} is not quoted with its table in the notes");
        }
    }
}
