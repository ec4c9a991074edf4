using Molmo.Text;

namespace Molmo.Imaging;

/// <summary>
/// Molmo's image preprocessing ("overlap-and-resize-c2", spec §3): tiling selection, the high-res canvas cut into overlapping crops,
/// the global 336×336 image, patchify, padding masks, <c>image_input_idx</c> and the image token block.
/// </summary>
public sealed class ImageCropper
{
    /// <summary>The settings in use.</summary>
    public ImageCropperOptions Options { get; }

    /// <summary>Creates a cropper; <paramref name="options"/> defaults to the released checkpoints' settings.</summary>
    public ImageCropper(ImageCropperOptions? options = null)
    {
        Options = options ?? ImageCropperOptions.Default;
        Options.Validate();
    }

    /// <summary>The tiling (rows, cols) this cropper chooses for an image of the given size.</summary>
    public (int Rows, int Cols) SelectTiling(int height, int width) =>
        Tiling.SelectForWindow(height - Options.MarginPixels, width - Options.MarginPixels, Options.WindowPixels, Options.MaxCrops);

    /// <summary>
    /// Preprocesses one image. <paramref name="blockOffset"/> is the sequence position of the image block's first token
    /// (1 when BOS precedes it, the reference layout).
    /// </summary>
    public PreprocessedImage Preprocess(RgbImage image, SpecialTokenIds ids, int blockOffset = 1)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(ids);
        if (blockOffset < 0) throw new ArgumentOutOfRangeException(nameof(blockOffset), blockOffset, "block offset must be ≥ 0");
        var o = Options;
        var (rows, cols) = SelectTiling(image.Height, image.Width);
        int crops = rows * cols, total = 1 + crops;
        int patchesPerCrop = o.PatchesPerCrop, perPatch = o.PixelsPerPatch;

        var images = GC.AllocateUninitializedArray<float>(total * patchesPerCrop * perPatch);
        var masks = new float[total * patchesPerCrop];

        // Global image first (spec §3.5).
        var global = ResizeAndPad.Apply(image, o.BaseImageSize, o.BaseImageSize, o, pooled: true);
        Patchify(global, 0, 0, images.AsSpan(0, patchesPerCrop * perPatch));
        ScratchBuffers.Return(global.Pixels);

        // High-res canvas and its crops, row-major (spec §3.4).
        var canvas = ResizeAndPad.Apply(image, rows * o.WindowPixels + o.MarginPixels, cols * o.WindowPixels + o.MarginPixels, o, pooled: true);
        Parallel.For(0, crops, k =>
        {
            int y0 = k / cols * o.WindowPixels, x0 = k % cols * o.WindowPixels;
            Patchify(canvas, y0, x0, images.AsSpan((1 + k) * patchesPerCrop * perPatch, patchesPerCrop * perPatch));
            // Legacy layout: crop k's mask is row k (the global image has none), spec §3.7.
            FillMask(canvas, y0, x0, masks.AsSpan(k * patchesPerCrop, patchesPerCrop));
        });
        ScratchBuffers.Return(canvas.Pixels);
        masks.AsSpan(crops * patchesPerCrop).Fill(-1f);

        return new PreprocessedImage
        {
            Rows = rows,
            Cols = cols,
            PatchesPerCrop = patchesPerCrop,
            PixelsPerPatch = perPatch,
            PooledPerCrop = o.PooledPerCrop,
            Images = images,
            ImageMasks = masks,
            ImageInputIdx = ImageTokenLayout.InputIndex(rows, cols, blockOffset, o),
            ImageTokens = ImageTokenLayout.Tokens(rows, cols, ids, o),
            BlockOffset = blockOffset,
        };
    }

    /// <summary>Patch p = py·n + px gets crop[py·14 + dy, px·14 + dx, c] at (dy·14 + dx)·3 + c (spec §3.6).</summary>
    void Patchify(PaddedImage src, int y0, int x0, Span<float> dst)
    {
        int ps = Options.PatchSize, n = Options.PatchesPerSide, run = ps * 3, perPatch = Options.PixelsPerPatch;
        var pixels = src.Pixels;
        int rowLen = src.Width * 3;
        for (int py = 0; py < n; py++)
        for (int px = 0; px < n; px++)
        {
            var patch = dst.Slice((py * n + px) * perPatch, perPatch);
            int sx = (x0 + px * ps) * 3;
            for (int dy = 0; dy < ps; dy++)
                pixels.AsSpan((y0 + py * ps + dy) * rowLen + sx, run).CopyTo(patch.Slice(dy * run, run));
        }
    }

    /// <summary>Per patch: the float32 mean of the validity mask over its pixels (count / patch²).</summary>
    void FillMask(PaddedImage src, int y0, int x0, Span<float> dst)
    {
        int ps = Options.PatchSize, n = Options.PatchesPerSide;
        float area = ps * ps;
        for (int py = 0; py < n; py++)
            for (int px = 0; px < n; px++)
                dst[py * n + px] = src.CountValid(y0 + py * ps, x0 + px * ps, ps, ps) / area;
    }
}
