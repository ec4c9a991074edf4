namespace Molmo.Eval.Scoring;

/// <summary>
/// The score of one prediction: <see cref="Score"/> in 0–1, whether the output could not be parsed for the metric,
/// what was parsed from it (a count, a time, an option, the cleaned answer), and metric-specific values (0–1).
/// </summary>
public sealed record ItemScore(string Id, double Score, bool Unparseable, string? Parsed, IReadOnlyDictionary<string, double> Details)
{
    /// <summary>The reference's subset (e.g. ChartQA human/augmented), or null.</summary>
    public string? Subset { get; init; }
    /// <summary>Ground-truth count, for the per-count break-down of counting.</summary>
    public int? TrueCount { get; init; }
}
