using System.Numerics;
using System.Runtime.InteropServices;

namespace Molmo.Imaging;

/// <summary>The reference <c>resize_and_pad</c> (spec §3.3): aspect-preserving antialiased resize, centred zero padding, CLIP normalisation.</summary>
public static class ResizeAndPad
{
    /// <summary>The resized size (new_h, new_w) for fitting <paramref name="height"/> × <paramref name="width"/> into the target (float32 scale, truncation).</summary>
    public static (int Height, int Width) ScaledSize(int height, int width, int targetHeight, int targetWidth)
    {
        float sy = (float)targetHeight / (float)height;
        float sx = (float)targetWidth / (float)width;
        float s = MathF.Min(sx, sy);
        // The product is rounded to float32 before truncation: 480 · 0.525f = 251.99998f → 251.
        float h = height * s, w = width * s;
        return ((int)h, (int)w);
    }

    /// <summary>
    /// Resizes <paramref name="image"/> to fit <paramref name="targetHeight"/> × <paramref name="targetWidth"/>, pads it centred with 0
    /// and normalises each channel as (x − mean) / std in float32.
    /// </summary>
    /// <remarks>An extreme aspect ratio that would give a side of 0 pixels (the reference fails there) is given 1 pixel instead.</remarks>
    public static PaddedImage Apply(RgbImage image, int targetHeight, int targetWidth, ImageCropperOptions? options = null) =>
        Apply(image, targetHeight, targetWidth, options, pooled: false);

    /// <summary>With <paramref name="pooled"/>, the canvas comes from <see cref="ScratchBuffers"/> (may be longer than needed) and the caller returns it.</summary>
    internal static PaddedImage Apply(RgbImage image, int targetHeight, int targetWidth, ImageCropperOptions? options, bool pooled)
    {
        ArgumentNullException.ThrowIfNull(image);
        options ??= ImageCropperOptions.Default;
        if (targetHeight < 1 || targetWidth < 1)
            throw new ArgumentOutOfRangeException(nameof(targetHeight), $"target size {targetHeight}×{targetWidth} must be at least 1×1");
        var (nh, nw) = ScaledSize(image.Height, image.Width, targetHeight, targetWidth);
        nh = Math.Clamp(nh, 1, targetHeight);
        nw = Math.Clamp(nw, 1, targetWidth);
        int top = (targetHeight - nh) / 2, left = (targetWidth - nw) / 2;

        // The per-channel constants repeated over 3 vectors (period 3 in RGB-interleaved data).
        var mean3 = new float[3 * Vector<float>.Count];
        var std3 = new float[3 * Vector<float>.Count];
        for (int k = 0; k < mean3.Length; k++) { mean3[k] = options.ImageMean[k % 3]; std3[k] = options.ImageStd[k % 3]; }
        // Padding is 0 before normalisation.
        float p0 = (0f - mean3[0]) / std3[0], p1 = (0f - mean3[1]) / std3[1], p2 = (0f - mean3[2]) / std3[2];

        var canvas = pooled ? ScratchBuffers.Rent(targetHeight * targetWidth * 3) : GC.AllocateUninitializedArray<float>(targetHeight * targetWidth * 3);
        int rowLen = targetWidth * 3;
        void Pad(int y, int x0, int x1)
        {
            var d = canvas.AsSpan(y * rowLen + x0 * 3, (x1 - x0) * 3);
            for (int k = 0; k < d.Length; k += 3) { d[k] = p0; d[k + 1] = p1; d[k + 2] = p2; }
        }
        for (int y = 0; y < targetHeight; y++)
        {
            if (y < top || y >= top + nh) Pad(y, 0, targetWidth);
            else { Pad(y, 0, left); Pad(y, left + nw, targetWidth); }
        }
        // The resized rows land in the canvas and are normalised there: (x − mean[c]) / std[c] in float32.
        AntialiasResize.ResizeInto(image.Pixels, image.Height, image.Width, nh, nw, canvas, (top * targetWidth + left) * 3, rowLen,
            (_, row) => Normalise(row, row, mean3, std3));

        return new PaddedImage
        {
            Height = targetHeight, Width = targetWidth, Pixels = canvas, Top = top, Left = left, ValidHeight = nh, ValidWidth = nw,
        };
    }

    /// <summary>d = (s − mean[c]) / std[c] per element, exactly (a true division, no reciprocal).</summary>
    static void Normalise(ReadOnlySpan<float> s, Span<float> d, float[] mean3, float[] std3)
    {
        int k = 0, block = mean3.Length;
        if (Vector.IsHardwareAccelerated && s.Length >= block)
        {
            var m = MemoryMarshal.Cast<float, Vector<float>>(mean3.AsSpan());
            var sd = MemoryMarshal.Cast<float, Vector<float>>(std3.AsSpan());
            for (; k + block <= s.Length; k += block)
            {
                var vs = MemoryMarshal.Cast<float, Vector<float>>(s.Slice(k, block));
                var vd = MemoryMarshal.Cast<float, Vector<float>>(d.Slice(k, block));
                vd[0] = (vs[0] - m[0]) / sd[0];
                vd[1] = (vs[1] - m[1]) / sd[1];
                vd[2] = (vs[2] - m[2]) / sd[2];
            }
        }
        for (; k < s.Length; k++) d[k] = (s[k] - mean3[k % 3]) / std3[k % 3];
    }
}
