using Molmo.Eval.Scoring;

namespace Molmo.Eval.Runner;

/// <summary>Settings of <see cref="EvalRunner"/>.</summary>
public sealed record EvalRunOptions
{
    /// <summary>Evaluate only the first N items of the dataset (null = all).</summary>
    public int? Limit { get; init; }
    public ScoringOptions Scoring { get; init; } = new();
    /// <summary>Dataset name or path for the report.</summary>
    public string? DatasetName { get; init; }
    /// <summary>How many failed examples the Markdown report lists (0 = none).</summary>
    public int ReportExamples { get; init; } = 10;
}
