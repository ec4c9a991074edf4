namespace Molmo.Eval.Scoring;

/// <summary>The metrics <c>molmo eval score</c> and the runner know.</summary>
public enum MetricKind
{
    /// <summary>Molmo's VQA soft accuracy: min(matches / 3, 1) over all references.</summary>
    Vqa,
    /// <summary>The official VQA accuracy (leave-one-out, official normalisation).</summary>
    VqaOfficial,
    /// <summary>ANLS with threshold 0.5, max over references.</summary>
    Anls,
    /// <summary>ChartQA relaxed accuracy (5 %).</summary>
    Relaxed,
    /// <summary>Multiple-choice accuracy.</summary>
    MultipleChoice,
    /// <summary>Exact count accuracy.</summary>
    Count,
    /// <summary>Clock reading: hour exact and minute within ±1.</summary>
    Clock,
    /// <summary>Pointing F1 (precision and recall reported too).</summary>
    Points,
}

/// <summary>Command-line names of <see cref="MetricKind"/>.</summary>
public static class MetricNames
{
    static readonly (MetricKind Kind, string Name)[] All =
    [
        (MetricKind.Vqa, "vqa"), (MetricKind.VqaOfficial, "vqa-official"), (MetricKind.Anls, "anls"),
        (MetricKind.Relaxed, "relaxed"), (MetricKind.MultipleChoice, "mc"), (MetricKind.Count, "count"),
        (MetricKind.Clock, "clock"), (MetricKind.Points, "points"),
    ];

    public static IReadOnlyList<string> Names { get; } = All.Select(a => a.Name).ToArray();

    public static string ToName(this MetricKind kind) => All.First(a => a.Kind == kind).Name;

    /// <exception cref="ArgumentException">unknown name (the message lists the known ones).</exception>
    public static MetricKind Parse(string name)
    {
        foreach (var (k, n) in All) if (string.Equals(n, name?.Trim(), StringComparison.OrdinalIgnoreCase)) return k;
        throw new ArgumentException($"unknown metric '{name}'; expected one of: {string.Join(", ", Names)}");
    }
}
