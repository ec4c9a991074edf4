using System.Numerics;
using System.Runtime.InteropServices;

namespace Molmo.Imaging;

/// <summary>
/// Antialiased bilinear resize with the index/weight maths of torchvision <c>Resize(BILINEAR, antialias=True)</c> on a float tensor
/// (ATen <c>_upsample_bilinear2d_aa</c>, align_corners=False), spec §3.3 step 3. Separable: width first, then height, with a float32
/// intermediate; a dimension whose size does not change is passed through. Input is uint8 RGB, converted to float32 as x / 255.
/// The sums follow the rounding order of the reference's compiled loop (<see cref="SumOrder"/>), which makes the results bit-exact
/// on every golden file.
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

        var result = GC.AllocateUninitializedArray<float>(outHeight * outWidth * 3);
        ResizeInto(rgb, height, width, outHeight, outWidth, result, 0, outWidth * 3, null);
        return result;
    }

    /// <summary>Receives one finished output row (clamped to [0, 1]) in place, e.g. to normalise it.</summary>
    internal delegate void RowAction(int row, Span<float> values);

    /// <summary>
    /// Resizes into <paramref name="dst"/>: output row i (outWidth × 3 floats, clamped) goes to
    /// dst[offset + i · rowStride ...], then <paramref name="onRow"/> (if any) is called on it. Arguments are not re-validated.
    /// </summary>
    internal static void ResizeInto(byte[] rgb, int height, int width, int outHeight, int outWidth,
        float[] dst, int offset, int rowStride, RowAction? onRow)
    {
        int rowLen = outWidth * 3;
        // Width pass first, into a float32 intermediate of height × outWidth × 3.
        float[] tmp = ScratchBuffers.Rent(height * rowLen);
        try
        {
            if (width == outWidth) ToUnit(rgb, tmp);
            else ResizeWidth(rgb, height, width, outWidth, tmp);

            AxisWeights? ax = height == outHeight ? null : ComputeWeights(height, outHeight);
            RowLoop(outHeight, i =>
            {
                var d = dst.AsSpan(offset + i * rowStride, rowLen);
                if (ax is null) tmp.AsSpan(i * rowLen, rowLen).CopyTo(d); // height unchanged: passed through
                else
                {
                    int n = ax.Count[i], y0 = ax.Start[i];
                    var w = ax.Weights.AsSpan(i * ax.Stride, ax.Stride);
                    if (n == 0) d.Clear();
                    else
                    {
                        Scale(tmp.AsSpan(y0 * rowLen, rowLen), w[0], d);
                        int plainEnd = SumOrder.PlainEnd(n);
                        for (int j = 1; j < n; j++) AddScaled(tmp.AsSpan((y0 + j) * rowLen, rowLen), w[j], d, fused: j >= plainEnd);
                    }
                }
                Clamp01(d);
                onRow?.Invoke(i, d);
            });
        }
        finally
        {
            ScratchBuffers.Return(tmp);
        }
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

    static void ToUnit(byte[] rgb, float[] dst)
    {
        var lut = U8ToUnit;
        for (int i = 0; i < rgb.Length; i++) dst[i] = lut[rgb[i]];
    }

    static unsafe void ResizeWidth(byte[] rgb, int height, int width, int outWidth, float[] dst)
    {
        var ax = ComputeWeights(width, outWidth);
        RowLoop(height, y =>
        {
            fixed (byte* srcBase = rgb)
            fixed (float* dstBase = dst, lut = U8ToUnit, weights = ax.Weights)
            fixed (int* starts = ax.Start, counts = ax.Count)
            {
                byte* src = srcBase + (long)y * width * 3;
                float* d = dstBase + (long)y * outWidth * 3;
                int stride = ax.Stride;
                for (int x = 0; x < outWidth; x++, d += 3)
                {
                    int n = counts[x];
                    if (n == 0) { d[0] = d[1] = d[2] = 0f; continue; }
                    byte* s = src + starts[x] * 3;
                    float* w = weights + x * stride;
                    // Ascending j from the first product, rounded the way the reference kernel is (see SumOrder).
                    float w0 = w[0];
                    float r = lut[s[0]] * w0, g = lut[s[1]] * w0, b = lut[s[2]] * w0;
                    int j = 1, plainEnd = SumOrder.PlainEnd(n);
                    for (; j < plainEnd; j++)
                    {
                        byte* sj = s + j * 3;
                        float wj = w[j];
                        r += lut[sj[0]] * wj;
                        g += lut[sj[1]] * wj;
                        b += lut[sj[2]] * wj;
                    }
                    for (; j < n; j++)
                    {
                        byte* sj = s + j * 3;
                        float wj = w[j];
                        r = MathF.FusedMultiplyAdd(lut[sj[0]], wj, r);
                        g = MathF.FusedMultiplyAdd(lut[sj[1]], wj, g);
                        b = MathF.FusedMultiplyAdd(lut[sj[2]], wj, b);
                    }
                    d[0] = r; d[1] = g; d[2] = b;
                }
            }
        });
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

    // d += s * w elementwise: with the product rounded first, or fused (one rounding), see SumOrder.
    static void AddScaled(ReadOnlySpan<float> s, float w, Span<float> d, bool fused)
    {
        int k = 0;
        if (Vector.IsHardwareAccelerated && s.Length >= Vector<float>.Count)
        {
            var vs = MemoryMarshal.Cast<float, Vector<float>>(s);
            var vd = MemoryMarshal.Cast<float, Vector<float>>(d);
            var vw = new Vector<float>(w);
            if (fused) for (int v = 0; v < vs.Length; v++) vd[v] = Vector.FusedMultiplyAdd(vs[v], vw, vd[v]);
            else for (int v = 0; v < vs.Length; v++) vd[v] += vs[v] * vw;
            k = vs.Length * Vector<float>.Count;
        }
        if (fused) for (; k < s.Length; k++) d[k] = MathF.FusedMultiplyAdd(s[k], w, d[k]);
        else for (; k < s.Length; k++) d[k] += s[k] * w;
    }

    /// <summary>
    /// The order of roundings in the reference's compiled accumulation loop <c>out = t[0]·w[0]; for j ≥ 1: out += t[j]·w[j]</c>:
    /// the loop body is vectorised 4 taps at a time (products rounded, then added in order) and the remaining 0–3 taps run as
    /// fused multiply-adds. Reproducing this makes all resize goldens bit-exact; a plain or an all-fused sum is off by 1–3 ulp.
    /// </summary>
    internal static class SumOrder
    {
        /// <summary>Taps 1 … PlainEnd − 1 are product-then-add; taps PlainEnd … n − 1 are fused.</summary>
        public static int PlainEnd(int taps) => taps <= 1 ? 1 : 1 + (taps - 1) / 4 * 4;
    }

    static void Clamp01(Span<float> a)
    {
        int k = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var v = MemoryMarshal.Cast<float, Vector<float>>(a);
            for (int i = 0; i < v.Length; i++) v[i] = Vector.Min(Vector.Max(v[i], Vector<float>.Zero), Vector<float>.One);
            k = v.Length * Vector<float>.Count;
        }
        for (; k < a.Length; k++)
        {
            float x = a[k];
            a[k] = x < 0f ? 0f : x > 1f ? 1f : x;
        }
    }

    static void RowLoop(int rows, Action<int> body)
    {
        if (rows < 64) { for (int r = 0; r < rows; r++) body(r); }
        else Parallel.For(0, rows, body);
    }
}
