using System.Globalization;
using System.Text;
using Molmo.Eval.Benchmarks;

namespace Molmo.Eval.Reporting;

/// <summary>Writes the Markdown report of a run.</summary>
public static class ReportWriter
{
    public static string ToMarkdown(RunReport r, string? chartFile)
    {
        var s = r.Summary;
        var sb = new StringBuilder();
        sb.AppendLine($"# Evaluation: {Esc(r.ModelName)} on {Esc(r.Task.Name)}").AppendLine();
        sb.AppendLine($"- Task: `{r.Task.Name}` — {Esc(r.Task.Description)}");
        sb.AppendLine($"- Dataset: {Esc(r.DatasetName ?? "(in memory)")}");
        sb.AppendLine($"- Prompt style: `{r.Task.Style}`{(r.Task.UsePrefix ? " (written as a prefix)" : " (no prefix: demo style)")}, max new tokens {r.Task.MaxNewTokens}");
        sb.AppendLine($"- Metric: `{s.Metric}`");
        sb.AppendLine($"- Items: {s.Items}; unparseable predictions: {s.Unparseable}");
        sb.AppendLine($"- Written: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC").AppendLine();

        sb.AppendLine("## Scores").AppendLine();
        sb.AppendLine("| metric | score |").AppendLine("|---|---:|");
        sb.AppendLine($"| **{s.Metric}** | **{F(s.Score)}** |");
        foreach (var (k, v) in s.SubScores) sb.AppendLine($"| {Esc(k)} | {F(v)} |");
        sb.AppendLine();
        if (chartFile != null) sb.AppendLine($"![scores]({chartFile})").AppendLine();

        sb.AppendLine("## Published figures").AppendLine();
        if (r.Published.Count == 0)
            sb.AppendLine(r.Task.PaperBenchmark == null
                ? "This task has no counterpart in the paper."
                : $"The bundled paper numbers have no entry for `{r.Task.PaperBenchmark}` (see the notes on missing numbers in `paper-results.json`).");
        else
        {
            sb.AppendLine("| source | model | metric | score |").AppendLine("|---|---|---|---:|");
            sb.AppendLine($"| this run | {Esc(r.ModelName)} | overall ({s.Metric}) | {F(s.Score)} |");
            foreach (var (k, v) in s.SubScores)
                if (r.Published.Any(p => p.Metric == k)) sb.AppendLine($"| this run | {Esc(r.ModelName)} | {Esc(k)} | {F(v)} |");
            foreach (var p in r.Published)
                sb.AppendLine($"| paper Table {p.Table} | {Esc(p.Model)} | {Esc(p.Metric)} | {F(p.Value)} |");
        }
        foreach (var t in r.PublishedTables.Where(t => !t.Complete && t.Missing != null))
            sb.AppendLine().AppendLine($"Note on Table {t.Table}: {Esc(t.Missing!)}");
        sb.AppendLine();

        var failures = r.Items.Zip(r.Scores).Where(t => t.Second.Score < 1).Take(r.ExampleCount).ToList();
        if (r.ExampleCount > 0 && failures.Count > 0)
        {
            sb.AppendLine($"## First {failures.Count} items below full score").AppendLine();
            sb.AppendLine("| id | prediction | parsed | reference | score |").AppendLine("|---|---|---|---|---:|");
            foreach (var (item, score) in failures)
                sb.AppendLine($"| {Esc(item.Id)} | {Esc(Short(r.Predictions[item.Id]))} | {Esc(score.Parsed ?? "")} | {Esc(Short(Reference(item)))} | {F(100 * score.Score)} |");
            sb.AppendLine();
        }
        return sb.ToString();
    }

    static string Reference(BenchmarkItem i)
    {
        if (i.Answers.Count > 0) return string.Join(" / ", i.Answers.Distinct());
        if (i.Answer != null) return i.Answer;
        if (i.Points != null) return $"{i.Points.Count} point(s)";
        return "";
    }

    static string F(double v) => v.ToString("0.0", CultureInfo.InvariantCulture);
    static string Short(string s) => s.Length <= 80 ? s : s[..77] + "...";
    static string Esc(string s) => s.Replace("|", "\\|").Replace("\r", " ").Replace("\n", " ⏎ ");
}
