namespace Molmo.Imaging;

/// <summary>
/// The choice of the high-res crop grid, the reference's <c>select_tiling</c> (spec §3.2): float32 scales, IEEE semantics,
/// candidates sorted by (crops, rows), first candidate wins ties.
/// </summary>
public static class Tiling
{
    /// <summary>
    /// The tiling (rows, cols) for an image of <paramref name="height"/> × <paramref name="width"/> pixels with the default geometry
    /// (336-px crops, 14-px patches, 4+4 patch overlap margins, so a 224-px window and 112 px of total margin).
    /// </summary>
    public static (int Rows, int Cols) Select(int height, int width, int maxCrops = 12) =>
        SelectForWindow(height - 112, width - 112, 224, maxCrops);

    /// <summary>
    /// The reference <c>select_tiling(h, w, window, max_crops)</c> itself: <paramref name="h"/> and <paramref name="w"/> are the image
    /// sides minus the total margin (they may be zero or negative), <paramref name="window"/> the crop window in pixels.
    /// </summary>
    public static (int Rows, int Cols) SelectForWindow(int h, int w, int window, int maxCrops)
    {
        if (window < 1) throw new ArgumentOutOfRangeException(nameof(window), window, "crop window must be at least 1 pixel");
        var candidates = Candidates(maxCrops);
        float fh = h, fw = w;
        var scales = new float[candidates.Count];
        bool allBelowOne = true;
        for (int k = 0; k < candidates.Count; k++)
        {
            var (i, j) = candidates[k];
            float sy = (float)(i * window) / fh; // ±inf for h = 0, negative for h < 0
            float sx = (float)(j * window) / fw;
            scales[k] = MathF.Min(sy, sx);
            if (!(scales[k] < 1f)) allBelowOne = false;
        }
        int best = 0;
        if (allBelowOne)
        {
            // Forced to downscale: the least downscaling (largest scale), first on ties.
            for (int k = 1; k < scales.Length; k++) if (scales[k] > scales[best]) best = k;
        }
        else
        {
            // The least upscaling among scales ≥ 1 (the others become 1e10), first on ties.
            float Key(int k) => scales[k] < 1f ? 1e10f : scales[k];
            for (int k = 1; k < scales.Length; k++) if (Key(k) < Key(best)) best = k;
        }
        return candidates[best];
    }

    /// <summary>All (rows, cols) with rows·cols ≤ <paramref name="maxCrops"/>, sorted stably by (rows·cols, rows): the candidate order.</summary>
    public static IReadOnlyList<(int Rows, int Cols)> Candidates(int maxCrops)
    {
        if (maxCrops < 1) throw new ArgumentOutOfRangeException(nameof(maxCrops), maxCrops, "max crops must be at least 1");
        var list = new List<(int Rows, int Cols)>();
        for (int i = 1; i <= maxCrops; i++)
            for (int j = 1; j <= maxCrops; j++)
                if (i * j <= maxCrops) list.Add((i, j));
        // List.Sort is not stable; the (crops, rows) key is unique per candidate, so ordering by it is unambiguous anyway.
        return list.OrderBy(t => t.Item1 * t.Item2).ThenBy(t => t.Item1).ToArray();
    }
}
