namespace Molmo.Eval.Metrics;

/// <summary>Average Normalised Levenshtein Similarity (DocVQA, InfoVQA) as Molmo computes it.</summary>
public static class Anls
{
    /// <summary>Normalised distances at or above this threshold score 0.</summary>
    public const double Threshold = 0.5;

    /// <summary>
    /// Similarity against one reference: NL = Levenshtein(lower(gt), lower(pred)) / max(len); 1 − NL if NL &lt; 0.5, else 0.
    /// No other normalisation (spaces and punctuation count). Two empty strings are identical (score 1).
    /// </summary>
    public static double Similarity(string reference, string prediction)
    {
        var gt = reference.ToLowerInvariant();
        var pred = prediction.ToLowerInvariant();
        int maxLen = Math.Max(gt.Length, pred.Length);
        if (maxLen == 0) return 1.0; // the reference divides by zero here
        double nl = (double)Levenshtein.Distance(gt, pred) / maxLen;
        return nl < Threshold ? 1.0 - nl : 0.0;
    }

    /// <summary>Example score: the maximum similarity over the references (0 when there are none).</summary>
    public static double Score(string prediction, IReadOnlyList<string> references) =>
        references.Count == 0 ? 0 : references.Max(r => Similarity(r, prediction));

    /// <summary>Case-insensitive exact match against any reference (reported beside ANLS as "em").</summary>
    public static bool ExactMatch(string prediction, IReadOnlyList<string> references) =>
        references.Any(r => string.Equals(r.ToLowerInvariant(), prediction.ToLowerInvariant(), StringComparison.Ordinal));
}
