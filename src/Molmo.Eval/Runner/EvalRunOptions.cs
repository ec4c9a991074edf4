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
    /// <summary>
    /// Requests decoded together (batched decoding); 1 answers them one at a time. The runner hands the model
    /// <see cref="BatchWindow"/> × this many requests at a time, and records each answer as soon as it is ready.
    /// </summary>
    public int Batch { get; init; } = 1;
    /// <summary>Requests handed to the model at once, per row of the batch (rows that finish early take the next ones).</summary>
    public const int BatchWindow = 4;
    /// <summary>How many failed examples the Markdown report lists (0 = none).</summary>
    public int ReportExamples { get; init; } = 10;
}
