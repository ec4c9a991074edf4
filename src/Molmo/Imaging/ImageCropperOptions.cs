namespace Molmo.Imaging;

/// <summary>
/// Geometry and normalisation of Molmo's "overlap-and-resize-c2" cropping (spec §1.3–1.4). The defaults are those of every released
/// Molmo checkpoint; the closed forms of the token layout were verified against the reference only for these defaults.
/// </summary>
public sealed record ImageCropperOptions
{
    /// <summary>Most high-res crops (rows × cols) a tiling may use; 12 in the HF processor (VLMEvalKit uses 36).</summary>
    public int MaxCrops { get; init; } = 12;

    /// <summary>Overlap margin, in patches, on the left/top side of interior crop edges.</summary>
    public int OverlapMarginLeft { get; init; } = 4;

    /// <summary>Overlap margin, in patches, on the right/bottom side of interior crop edges.</summary>
    public int OverlapMarginRight { get; init; } = 4;

    /// <summary>Side of a crop (and of the global image) in pixels: the ViT input size.</summary>
    public int BaseImageSize { get; init; } = 336;

    /// <summary>ViT patch side in pixels.</summary>
    public int PatchSize { get; init; } = 14;

    /// <summary>Per-channel mean subtracted after scaling to [0, 1] (OpenAI CLIP).</summary>
    public IReadOnlyList<float> ImageMean { get; init; } = [0.48145466f, 0.4578275f, 0.40821073f];

    /// <summary>Per-channel standard deviation divided by after subtracting the mean (OpenAI CLIP).</summary>
    public IReadOnlyList<float> ImageStd { get; init; } = [0.26862954f, 0.26130258f, 0.27577711f];

    /// <summary>The released checkpoints' settings.</summary>
    public static ImageCropperOptions Default { get; } = new();

    /// <summary>Patches per crop side (24).</summary>
    public int PatchesPerSide => BaseImageSize / PatchSize;

    /// <summary>Patches per crop (576).</summary>
    public int PatchesPerCrop => PatchesPerSide * PatchesPerSide;

    /// <summary>Values per patch: patch² × 3 (588).</summary>
    public int PixelsPerPatch => PatchSize * PatchSize * 3;

    /// <summary>Pooled features per crop side after 2×2 pooling (12).</summary>
    public int PooledPerSide => PatchesPerSide / 2;

    /// <summary>Pooled features per crop (144).</summary>
    public int PooledPerCrop => PooledPerSide * PooledPerSide;

    /// <summary>Crop window in patches: what one crop adds to the canvas (24 − 8 = 16).</summary>
    public int WindowPatches => PatchesPerSide - OverlapMarginLeft - OverlapMarginRight;

    /// <summary>Crop window in pixels (224).</summary>
    public int WindowPixels => WindowPatches * PatchSize;

    /// <summary>Total margin in pixels (112).</summary>
    public int MarginPixels => (OverlapMarginLeft + OverlapMarginRight) * PatchSize;

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting that is out of range.</summary>
    public void Validate()
    {
        if (MaxCrops < 1) throw new ArgumentException($"MaxCrops must be at least 1 (got {MaxCrops})");
        if (PatchSize < 1) throw new ArgumentException($"PatchSize must be at least 1 (got {PatchSize})");
        if (BaseImageSize < PatchSize || BaseImageSize % PatchSize != 0)
            throw new ArgumentException($"BaseImageSize ({BaseImageSize}) must be a positive multiple of PatchSize ({PatchSize})");
        if (PatchesPerSide % 2 != 0)
            throw new ArgumentException($"BaseImageSize / PatchSize = {PatchesPerSide} must be even (2×2 pooling)");
        if (OverlapMarginLeft < 0 || OverlapMarginRight < 0 || OverlapMarginLeft % 2 != 0 || OverlapMarginRight % 2 != 0)
            throw new ArgumentException(
                $"overlap margins must be even and non-negative (got {OverlapMarginLeft}/{OverlapMarginRight})");
        if (WindowPatches < 2)
            throw new ArgumentException($"overlap margins {OverlapMarginLeft}+{OverlapMarginRight} leave no crop window in {PatchesPerSide} patches");
        if (ImageMean is not { Count: 3 }) throw new ArgumentException("ImageMean must have 3 values (R, G, B)");
        if (ImageStd is not { Count: 3 } || ImageStd.Any(s => !(s > 0)))
            throw new ArgumentException("ImageStd must have 3 positive values (R, G, B)");
    }
}
