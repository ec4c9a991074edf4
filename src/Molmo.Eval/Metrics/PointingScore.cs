namespace Molmo.Eval.Metrics;

/// <summary>Per-example precision, recall and F1 of a pointing answer; <see cref="FormatOk"/> is false when the output failed the format gate.</summary>
public readonly record struct PointingJudgement(double Precision, double Recall, double F1, int Predicted, int Hits, bool FormatOk);

/// <summary>
/// The pointing metric (Molmo's <c>PointingEval</c>, with molmo2's fix of comparing in pixels): optimal one-to-one
/// matching of predicted to ground-truth points by Euclidean distance, a hit when the prediction lies in the matched
/// object's mask.
/// </summary>
public static class PointingScore
{
    /// <summary>
    /// Scores one answer. <paramref name="truth"/> are ground-truth points in pixels of the original image
    /// (<paramref name="width"/> × <paramref name="height"/>); <paramref name="masks"/> holds one mask per truth point,
    /// or is null to use <paramref name="hitRadius"/> instead (our extension for data without masks: a hit when the
    /// matched points are at most that many pixels apart).
    /// <list type="bullet">
    /// <item>No truth points (object absent): P = R = F1 = 1 if no point is predicted, else 0 (format not required).</item>
    /// <item>Otherwise the whole output must pass <see cref="PointExtraction.IsPointingFormat"/>, else P = R = F1 = 0.</item>
    /// <item>A hit: the prediction rounded to the nearest pixel (ties to even) lies in the matched truth's mask.
    /// P = hits / #pred, R = hits / #truth, F1 = 2PR / (P + R + 1e-10), 0 if P or R is 0.</item>
    /// </list>
    /// </summary>
    public static PointingJudgement Judge(string? prediction, IReadOnlyList<PixelPoint> truth, int width, int height,
        IReadOnlyList<BinaryMask>? masks, double hitRadius = 0)
    {
        ArgumentNullException.ThrowIfNull(truth);
        if (masks != null && masks.Count != truth.Count)
            throw new ArgumentException($"{masks.Count} masks for {truth.Count} ground-truth points; there must be one mask per point");
        var predicted = PointExtraction.ExtractPixels(prediction, width, height);
        if (truth.Count == 0)
        {
            bool ok = predicted.Count == 0;
            return new PointingJudgement(ok ? 1 : 0, ok ? 1 : 0, ok ? 1 : 0, predicted.Count, 0, true);
        }
        if (!PointExtraction.IsPointingFormat(prediction))
            return new PointingJudgement(0, 0, 0, predicted.Count, 0, false);
        if (predicted.Count == 0) return new PointingJudgement(0, 0, 0, 0, 0, true);

        var cost = new double[predicted.Count, truth.Count];
        for (int i = 0; i < predicted.Count; i++)
            for (int j = 0; j < truth.Count; j++)
                cost[i, j] = Math.Sqrt(Sq(predicted[i].X - truth[j].X) + Sq(predicted[i].Y - truth[j].Y));
        int hits = 0;
        foreach (var (i, j) in LinearAssignment.Solve(cost))
        {
            bool hit = masks != null
                ? masks[j].Contains((int)Math.Round(predicted[i].X, MidpointRounding.ToEven), (int)Math.Round(predicted[i].Y, MidpointRounding.ToEven))
                : cost[i, j] <= hitRadius;
            if (hit) hits++;
        }
        double p = (double)hits / predicted.Count, r = (double)hits / truth.Count;
        double f1 = p == 0 || r == 0 ? 0 : 2 * p * r / (p + r + 1e-10);
        return new PointingJudgement(p, r, f1, predicted.Count, hits, true);
    }

    static double Sq(double v) => v * v;
}
