namespace Molmo.Eval.Metrics;

/// <summary>ChartQA's relaxed correctness as Molmo computes it.</summary>
public static class RelaxedAccuracy
{
    public const double MaxRelativeChange = 0.05;

    /// <summary>
    /// Both strings are parsed like Python floats (a trailing '%' divides by 100). If the prediction parses and the
    /// target parses to a non-zero number, correct iff |p − t| / |t| ≤ 5 %. Otherwise a case-insensitive exact string
    /// match decides, so a target of "0" needs the string "0" ("0.0" is wrong). Commas are not numbers: "1,000" vs
    /// "1000" is a string comparison and fails.
    /// </summary>
    public static bool IsCorrect(string target, string prediction)
    {
        var p = ToFloat(prediction);
        var t = ToFloat(target);
        if (p.HasValue && t.HasValue && t.Value != 0) // NaN counts as non-zero, as in Python
            return Math.Abs(p.Value - t.Value) / Math.Abs(t.Value) <= MaxRelativeChange;
        return string.Equals(prediction.ToLowerInvariant(), target.ToLowerInvariant(), StringComparison.Ordinal);
    }

    /// <summary>Example score: 1 if correct against any reference, else 0.</summary>
    public static double Score(string prediction, IReadOnlyList<string> targets) =>
        targets.Any(t => IsCorrect(t, prediction)) ? 1.0 : 0.0;

    static double? ToFloat(string text)
    {
        if (text.EndsWith('%'))
            return PythonFloat.TryParse(text.TrimEnd('%'), out var v) ? v / 100.0 : null;
        return PythonFloat.TryParse(text, out var w) ? w : null;
    }
}
