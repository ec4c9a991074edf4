using Molmo.Eval.Benchmarks;
using Molmo.Eval.Runner;
using Molmo.Eval.Scoring;

namespace Molmo.Eval.Reporting;

/// <summary>Everything the Markdown report and the chart show about one run.</summary>
public sealed record RunReport(
    string ModelName,
    EvalTask Task,
    string? DatasetName,
    ScoreSummary Summary,
    IReadOnlyList<BenchmarkItem> Items,
    IReadOnlyDictionary<string, string> Predictions,
    IReadOnlyList<ItemScore> Scores,
    IReadOnlyList<PaperResult> Published,
    IReadOnlyList<PaperTable> PublishedTables,
    int ExampleCount);
