using Molmo.Eval.Scoring;

namespace Molmo.Eval.Benchmarks;

/// <summary>A point given in percent (0–100) of the image width and height, as Molmo prints and PixMo stores them.</summary>
public readonly record struct PercentPoint(double X, double Y);

/// <summary>
/// One benchmark question with its references: a line of the local benchmark format (see docs/evaluation.md) or of a
/// references file for <c>molmo eval score</c>. Which reference fields are needed depends on the metric.
/// </summary>
public sealed record BenchmarkItem
{
    public required string Id { get; init; }
    public string? Question { get; init; }
    /// <summary>Absolute path of the image, or null when the image is inline (<see cref="ImageBytes"/>).</summary>
    public string? ImagePath { get; init; }
    public byte[]? ImageBytes { get; init; }
    /// <summary>Reference answers (vqa, vqa-official, anls, relaxed).</summary>
    public IReadOnlyList<string> Answers { get; init; } = [];
    /// <summary>The single answer (mc: option text, letter or index; count: integer; clock: "H:MM").</summary>
    public string? Answer { get; init; }
    /// <summary>Multiple-choice option texts.</summary>
    public IReadOnlyList<string> Options { get; init; } = [];
    /// <summary>What the model is expected to answer for each option; null = letters, or the options themselves when they are letters.</summary>
    public IReadOnlyList<string>? OptionNames { get; init; }
    /// <summary>Object name for counting/pointing prompts when there is no question.</summary>
    public string? Label { get; init; }
    /// <summary>Ground-truth points in percent (pointing); null when not given.</summary>
    public IReadOnlyList<PercentPoint>? Points { get; init; }
    /// <summary>Original image size in pixels (pointing).</summary>
    public int? Width { get; init; }
    public int? Height { get; init; }
    /// <summary>One mask per ground-truth point (pointing), or null.</summary>
    public IReadOnlyList<MaskReference>? Masks { get; init; }
    /// <summary>Optional subset name (e.g. ChartQA "human"/"augmented"); reports give a score per subset.</summary>
    public string? Subset { get; init; }

    public bool HasImage => ImagePath != null || ImageBytes != null;
}
