using System.Numerics;
using System.Runtime.InteropServices;

namespace Molmo.Imaging;

/// <summary>
/// Antialiased bilinear resize, bit-for-bit the maths of torchvision <c>Resize(BILINEAR, antialias=True)</c> on a float tensor
/// (ATen <c>_upsample_bilinear2d_aa</c>, align_corners=False), spec §3.3 step 3. Separable: width first, then height, with a float32
/// intermediate; a dimension whose size does not change is passed through. Input is uint8 RGB, converted to float32 as x / 255.
/// </summary>
public static class AntialiasResize
{
    static readonly float[] U8ToUnit = BuildLut();

    static float[] BuildLut()
    {
        var lut = new float[256];
        for (int i = 0; i < 256; i++) lut[i] = i / 255f; // torchvision convert_image_dtype: x / 255 in float32
        return lut;
    }

    /// <summary>
    /// Resizes <paramref name="image"/> to <paramref name="outHeight"/> × <paramref name="outWidth"/> and returns the result as
    /// float32 H×W×3 (row-major, RGB) in [0, 1], clamped like the reference (<c>torch.clip(x, 0, 1)</c>).
    /// </summary>
    public static float[] Resize(RgbImage image, int outHeight, int outWidth)
    {
        ArgumentNullException.ThrowIfNull(image);
        return Resize(image.Pixels, image.Height, image.Width, outHeight, outWidth);
    }

    /// <summary>
    /// Resizes an H×W×3 uint8 buffer to <paramref name="outHeight"/> × <paramref name="outWidth"/>; returns float32 H×W×3 in [0, 1].
    /// </summary>
    public static float[] Resize(byte[] rgb, int height, int width, int outHeight, int outWidth)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        if (height < 1 || width < 1) throw new ArgumentOutOfRangeException(nameof(height), $"input size {height}×{width} must be at least 1×1");
        if (outHeight < 1 || outWidth < 1)
            throw new ArgumentOutOfRangeException(nameof(outHeight), $"output size {outHeight}×{outWidth} must be at least 1×1");
        if (rgb.LongLength != (long)height * width * 3)
            throw new ArgumentException($"buffer has {rgb.LongLength} bytes, expected {height}×{width}×3 = {(long)height * width * 3}", nameof(rgb));

        float[] horizontal = width == outWidth ? ToUnit(rgb) : ResizeWidth(rgb, height, width, outWidth);
        float[] result = height == outHeight ? horizontal : ResizeHeight(horizontal, height, outHeight, outWidth * 3);
        Clamp01(result);
        return result;
    }

    /// <summary>Source ranges and normalised weights of one resized dimension (ATen <c>_compute_weights_aa</c>).</summary>
    internal sealed class AxisWeights
    {
        public required int[] Start { get; init; }
        public required int[] Count { get; init; }
        /// <summary>Weights, <see cref="Stride"/> per output index.</summary>
        public required float[] Weights { get; init; }
        public required int Stride { get; init; }
    }

    /// <summary>Index/weight maths in float32 with the reference's promotions to double where it has them (spec §3.3).</summary>
    internal static AxisWeights ComputeWeights(int inSize, int outSize)
    {
        float scale = (float)inSize / (float)outSize;
        float support = scale >= 1f ? scale : 1f;
        float invscale = scale >= 1f ? (float)(1.0 / scale) : 1f;
        int stride = (int)Math.Ceiling(support) * 2 + 1;
        var start = new int[outSize];
        var count = new int[outSize];
        var weights = new float[outSize * stride];
        for (int i = 0; i < outSize; i++)
        {
            float center = (float)(scale * (i + 0.5));
            long xmin = Math.Max((long)((double)(center - support) + 0.5), 0L);
            long xsize = Math.Min((long)((double)(center + support) + 0.5), inSize) - xmin;
            xsize = Math.Clamp(xsize, 0, stride);
            var w = weights.AsSpan(i * stride, stride);
            float total = 0f;
            for (int j = 0; j < xsize; j++)
            {
                float t = (float)(((double)((float)(j + xmin) - center) + 0.5) * invscale);
                float a = MathF.Abs(t);
                float v = a < 1f ? 1f - a : 0f;
                w[j] = v;
                total += v;
            }
            if (total != 0f)
                for (int j = 0; j < xsize; j++) w[j] /= total;
            start[i] = (int)xmin;
            count[i] = (int)xsize;
        }
        return new AxisWeights { Start = start, Count = count, Weights = weights, Stride = stride };
    }

    static float[] ToUnit(byte[] rgb)
    {
        var lut = U8ToUnit;
        var dst = GC.AllocateUninitializedArray<float>(rgb.Length);
        for (int i = 0; i < rgb.Length; i++) dst[i] = lut[rgb[i]];
        return dst;
    }

    static float[] ResizeWidth(byte[] rgb, int height, int width, int outWidth)
    {
        var ax = ComputeWeights(width, outWidth);
        var dst = GC.AllocateUninitializedArray<float>(height * outWidth * 3);
        var lut = U8ToUnit;
        RowLoop(height, y =>
        {
            var src = rgb.AsSpan(y * width * 3, width * 3);
            var d = dst.AsSpan(y * outWidth * 3, outWidth * 3);
            for (int x = 0; x < outWidth; x++)
            {
                int s0 = ax.Start[x] * 3, n = ax.Count[x];
                var w = ax.Weights.AsSpan(x * ax.Stride, ax.Stride);
                float r = 0f, g = 0f, b = 0f;
                if (n > 0)
                {
                    // Accumulated in ascending j starting from the first product, as ATen does.
                    r = lut[src[s0]] * w[0]; g = lut[src[s0 + 1]] * w[0]; b = lut[src[s0 + 2]] * w[0];
                    for (int j = 1; j < n; j++)
                    {
                        int s = s0 + j * 3;
                        float wj = w[j];
                        r += lut[src[s]] * wj; g += lut[src[s + 1]] * wj; b += lut[src[s + 2]] * wj;
                    }
                }
                d[x * 3] = r; d[x * 3 + 1] = g; d[x * 3 + 2] = b;
            }
        });
        return dst;
    }

    static float[] ResizeHeight(float[] src, int height, int outHeight, int rowLength)
    {
        var ax = ComputeWeights(height, outHeight);
        var dst = GC.AllocateUninitializedArray<float>(outHeight * rowLength);
        RowLoop(outHeight, i =>
        {
            var d = dst.AsSpan(i * rowLength, rowLength);
            int n = ax.Count[i], y0 = ax.Start[i];
            var w = ax.Weights.AsSpan(i * ax.Stride, ax.Stride);
            if (n == 0) { d.Clear(); return; }
            Scale(src.AsSpan(y0 * rowLength, rowLength), w[0], d);
            for (int j = 1; j < n; j++) AddScaled(src.AsSpan((y0 + j) * rowLength, rowLength), w[j], d);
        });
        return dst;
    }

    // d = s * w (elementwise, float32)
    static void Scale(ReadOnlySpan<float> s, float w, Span<float> d)
    {
        int k = 0;
        if (Vector.IsHardwareAccelerated && s.Length >= Vector<float>.Count)
        {
            var vs = MemoryMarshal.Cast<float, Vector<float>>(s);
            var vd = MemoryMarshal.Cast<float, Vector<float>>(d);
            var vw = new Vector<float>(w);
            for (int v = 0; v < vs.Length; v++) vd[v] = vs[v] * vw;
            k = vs.Length * Vector<float>.Count;
        }
        for (; k < s.Length; k++) d[k] = s[k] * w;
    }

    // d += s * w (a separate multiply and add, no fused multiply-add)
    static void AddScaled(ReadOnlySpan<float> s, float w, Span<float> d)
    {
        int k = 0;
        if (Vector.IsHardwareAccelerated && s.Length >= Vector<float>.Count)
        {
            var vs = MemoryMarshal.Cast<float, Vector<float>>(s);
            var vd = MemoryMarshal.Cast<float, Vector<float>>(d);
            var vw = new Vector<float>(w);
            for (int v = 0; v < vs.Length; v++) vd[v] += vs[v] * vw;
            k = vs.Length * Vector<float>.Count;
        }
        for (; k < s.Length; k++) d[k] += s[k] * w;
    }

    static void Clamp01(float[] a)
    {
        for (int i = 0; i < a.Length; i++)
        {
            float v = a[i];
            a[i] = v < 0f ? 0f : v > 1f ? 1f : v;
        }
    }

    static void RowLoop(int rows, Action<int> body)
    {
        if (rows < 64) { for (int r = 0; r < rows; r++) body(r); }
        else Parallel.For(0, rows, body);
    }
}
