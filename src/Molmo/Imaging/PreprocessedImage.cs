namespace Molmo.Imaging;

/// <summary>
/// Everything the model needs for one image (spec §3): the crops, their padding masks (with the legacy one-row shift), the positions
/// of the pooled features, and the image token block. Arrays are row-major; T = <see cref="NumCrops"/> = 1 + Rows·Cols.
/// </summary>
public sealed class PreprocessedImage
{
    /// <summary>Tiling rows R.</summary>
    public required int Rows { get; init; }

    /// <summary>Tiling columns C.</summary>
    public required int Cols { get; init; }

    /// <summary>Crops including the global image: 1 + R·C.</summary>
    public int NumCrops => 1 + Rows * Cols;

    /// <summary>Patches per crop (576).</summary>
    public required int PatchesPerCrop { get; init; }

    /// <summary>Values per patch (588 = 14·14·3, ordered dy, dx, channel).</summary>
    public required int PixelsPerPatch { get; init; }

    /// <summary>Pooled features per crop (144).</summary>
    public required int PooledPerCrop { get; init; }

    /// <summary><c>images</c> [T, 576, 588]: the global image first, then the high-res crops row-major; normalised float32.</summary>
    public required float[] Images { get; init; }

    /// <summary>
    /// <c>image_masks</c> [T, 576]: fraction of real pixels per patch for the high-res crops in order, then one row of −1
    /// (no row for the global image: the reference's legacy shift, spec §3.7).
    /// </summary>
    public required float[] ImageMasks { get; init; }

    /// <summary><c>image_input_idx</c> [T, 144]: sequence position per pooled feature, −100 where dropped.</summary>
    public required long[] ImageInputIdx { get; init; }

    /// <summary>The image token block (global block then high-res block).</summary>
    public required int[] ImageTokens { get; init; }

    /// <summary>Sequence position of the first image token that <see cref="ImageInputIdx"/> was computed for.</summary>
    public required int BlockOffset { get; init; }

    /// <summary>Tensor shapes, for handing the arrays to a tensor library.</summary>
    public int[] ImagesShape => [NumCrops, PatchesPerCrop, PixelsPerPatch];

    /// <inheritdoc cref="ImagesShape"/>
    public int[] ImageMasksShape => [NumCrops, PatchesPerCrop];

    /// <inheritdoc cref="ImagesShape"/>
    public int[] ImageInputIdxShape => [NumCrops, PooledPerCrop];
}
