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
        foreach (var r in PaperResults.Load().All.Where(r => r.Source is null))
        {
            var text = r.Value == Math.Floor(r.Value) && r.Value > 500
                ? r.Value.ToString("0", CultureInfo.InvariantCulture)
                : r.Value.ToString("0.0", CultureInfo.InvariantCulture);
            var line = notes.Split('\n').FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal) && l.Contains($"Table {r.Table}", StringComparison.Ordinal));
            Assert.True(line != null, $"Table {r.Table} {r.Model} {r.Metric} = {text} is not quoted with its table in the notes");
        }
    }

    [Fact]
    public void Numbers_from_other_sources_name_them_and_agree_with_the_notes()
    {
        var all = PaperResults.Load().All.ToList();
        Assert.All(all.Where(r => r.Source is not null), r => Assert.Contains("model card", r.Source));
        // Where both give a number (the Elo of Molmo-72B and GPT-4o), the model cards agree with the notes.
        var card = all.Where(r => r.Source is not null).ToLookup(r => (r.Model, r.Benchmark));
        Assert.Equal(4, all.Count(r => r.Benchmark == "academic_11_average" && r.Model.StartsWith("Molmo", StringComparison.Ordinal)));
        // The notes give the Elo as "(N for Molmo-72B vs M for GPT-4o)".
        var notes = File.ReadAllText(Path.Combine(TestPaths.Shared, "docs", "pixmo-data-and-eval.md"));
        var quoted = System.Text.RegularExpressions.Regex.Match(notes, @"\((\d+) for Molmo-72B vs (\d+) for GPT-4o\)");
        Assert.True(quoted.Success, "the notes no longer quote the Elo of Molmo-72B and GPT-4o");
        Assert.Equal(double.Parse(quoted.Groups[1].Value, CultureInfo.InvariantCulture),
                     all.Single(r => r.Model == "Molmo-72B" && r.Benchmark == "human_preference_elo").Value);
        Assert.Empty(card[("Molmo-72B", "human_preference_elo")]);   // kept once, from the notes
    }
}
