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
    public static PaddedImage Apply(RgbImage image, int targetHeight, int targetWidth, ImageCropperOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        options ??= ImageCropperOptions.Default;
        if (targetHeight < 1 || targetWidth < 1)
            throw new ArgumentOutOfRangeException(nameof(targetHeight), $"target size {targetHeight}×{targetWidth} must be at least 1×1");
        var (nh, nw) = ScaledSize(image.Height, image.Width, targetHeight, targetWidth);
        nh = Math.Clamp(nh, 1, targetHeight);
        nw = Math.Clamp(nw, 1, targetWidth);
        float[] resized = AntialiasResize.Resize(image, nh, nw);
        int top = (targetHeight - nh) / 2, left = (targetWidth - nw) / 2;

        float m0 = options.ImageMean[0], m1 = options.ImageMean[1], m2 = options.ImageMean[2];
        float s0 = options.ImageStd[0], s1 = options.ImageStd[1], s2 = options.ImageStd[2];
        // Padding is 0 before normalisation.
        float p0 = (0f - m0) / s0, p1 = (0f - m1) / s1, p2 = (0f - m2) / s2;
        var canvas = GC.AllocateUninitializedArray<float>(targetHeight * targetWidth * 3);
        int rowLen = targetWidth * 3;

        void Row(int y)
        {
            var d = canvas.AsSpan(y * rowLen, rowLen);
            int x = 0;
            if (y >= top && y < top + nh)
            {
                var s = resized.AsSpan((y - top) * nw * 3, nw * 3);
                for (; x < left; x++) { d[x * 3] = p0; d[x * 3 + 1] = p1; d[x * 3 + 2] = p2; }
                var di = d.Slice(left * 3, nw * 3);
                for (int k = 0; k < di.Length; k += 3)
                {
                    di[k] = (s[k] - m0) / s0;
                    di[k + 1] = (s[k + 1] - m1) / s1;
                    di[k + 2] = (s[k + 2] - m2) / s2;
                }
                x = left + nw;
            }
            for (; x < targetWidth; x++) { d[x * 3] = p0; d[x * 3 + 1] = p1; d[x * 3 + 2] = p2; }
        }
        if (targetHeight * targetWidth < 1 << 16) { for (int y = 0; y < targetHeight; y++) Row(y); }
        else Parallel.For(0, targetHeight, Row);

        return new PaddedImage
        {
            Height = targetHeight, Width = targetWidth, Pixels = canvas, Top = top, Left = left, ValidHeight = nh, ValidWidth = nw,
        };
    }
}
