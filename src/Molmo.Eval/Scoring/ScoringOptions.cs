namespace Molmo.Eval.Scoring;

/// <summary>Choices that change how some metrics score (defaults reproduce the Molmo evaluation, bug fixes documented).</summary>
public sealed record ScoringOptions
{
    /// <summary>Reproduce Molmo's count parser that never reads "none" as 0 (default: fixed, "none" → 0).</summary>
    public bool ReproduceCountNoneBug { get; init; }

    /// <summary>
    /// Pointing without masks (our extension): a matched prediction is a hit when it is within this fraction of the image
    /// diagonal of its ground-truth point. Ignored for items that have masks.
    /// </summary>
    public double PointHitRadiusFraction { get; init; } = 0.05;

    /// <summary>Apply Molmo's answer cleanup ("Answer:" suffix, most frequent line) before short-answer metrics.</summary>
    public bool CleanPredictions { get; init; } = true;
}
