using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Molmo.Checkpoints;
using static TorchSharp.torch;

namespace Molmo.Model.Kernels;

/// <summary>
/// Matrix–vector products for decoding on the CPU: y[m, r] = Σ_k W[r, k]·x[m, k] (+ b[r]) for a handful of input rows m,
/// with bf16 or int8 weights read straight from memory (converted to float32 in registers, never as a whole matrix) and
/// float32 accumulation. A decode step is bound by reading the weights; this kernel streams every weight row once for all
/// m input rows.
/// </summary>
public static unsafe class CpuGemv
{
    /// <summary>Most input rows the kernel handles; more rows are compute-bound and go to libtorch's GEMM.</summary>
    public const int MaxRows = 8;

    /// <summary>Rows of W per unit of work split over threads.</summary>
    const int Block = 4;

    public static bool IsSupported => Avx512F.IsSupported || (Avx2.IsSupported && Fma.IsSupported);

    /// <summary>
    /// Threads the kernel splits the rows over; default: every core. A decode step is one stream of weights, and a single core
    /// of this project's machine kind reads DRAM at about 80 % of what two reach.
    /// </summary>
    public static int MaxThreads { get; set; } = Environment.ProcessorCount;

    /// <summary>x [..., K] (any float dtype) times bf16 weight [N, K] (+ bias [N]) → [..., N] in x's dtype.</summary>
    public static Tensor LinearBf16(Tensor x, Tensor weight, Tensor? bias) => Linear(x, weight, bias, null);

    /// <summary>x [..., K] times int8 weight [N, K] with per-row scales [N] (float32) (+ bias) → [..., N] in x's dtype.</summary>
    public static Tensor LinearInt8(Tensor x, Tensor weightInt8, Tensor scales, Tensor? bias) => Linear(x, weightInt8, bias, scales);

    static Tensor Linear(Tensor x, Tensor weight, Tensor? bias, Tensor? scales)
    {
        long n = weight.shape[0], k = weight.shape[1];
        if (x.shape[^1] != k) throw new ArgumentException($"input width {x.shape[^1]} does not match weight [{n}, {k}]");
        if (!weight.is_contiguous()) throw new ArgumentException("weight must be contiguous");
        bool int8 = scales is not null;
        if (int8 ? weight.dtype != ScalarType.Int8 : weight.dtype != ScalarType.BFloat16)
            throw new ArgumentException($"weight dtype {weight.dtype} does not match the {(int8 ? "int8" : "bf16")} kernel");
        using var scope = NewDisposeScope();
        var xf = x.reshape(-1, k).to(ScalarType.Float32).contiguous();
        long m = xf.shape[0];
        var y = empty([m, n], ScalarType.Float32);
        var bf = bias?.to(ScalarType.Float32).contiguous();
        var sc = scales?.to(ScalarType.Float32).contiguous();
        var w = (byte*)NativeTensor.DataPointer(weight);
        var px = (float*)NativeTensor.DataPointer(xf);
        var py = (float*)NativeTensor.DataPointer(y);
        var pb = bf is null ? null : (float*)NativeTensor.DataPointer(bf);
        var ps = sc is null ? null : (float*)NativeTensor.DataPointer(sc);
        Run(w, int8, (int)n, (int)k, px, (int)m, py, pb, ps);
        var shape = x.shape.ToArray();
        shape[^1] = n;
        var result = y.view(shape);
        return (x.dtype == ScalarType.Float32 ? result : result.to(x.dtype)).MoveToOuterDisposeScope();
    }

    /// <summary>Raw kernel: w is [n, k] bf16 (int8 when <paramref name="int8"/>), x [m, k] float32, y [m, n] float32.</summary>
    internal static void Run(byte* w, bool int8, int n, int k, float* x, int m, float* y, float* bias, float* scales)
    {
        if (m < 1 || m > MaxRows) throw new ArgumentException($"1 to {MaxRows} input rows, not {m}");
        // bf16 on AVX-512 reads x as its even and odd elements (see Bf16Dot); split them once per call.
        bool split = !int8 && Avx512F.IsSupported;
        float* xs = split ? (float*)NativeMemory.AlignedAlloc((nuint)(4L * m * k), 64) : null;
        try
        {
            if (split)
                for (int i = 0; i < m; i++)
                {
                    float* src = x + (long)i * k, even = xs + (long)i * k, odd = even + k / 2;
                    for (int j = 0; j < k / 2; j++) { even[j] = src[2 * j]; odd[j] = src[2 * j + 1]; }
                }
            int blocks = (n + Block - 1) / Block;
            int threads = Math.Max(1, Math.Min(MaxThreads, blocks / 16));
            nint wp = (nint)w, xp = (nint)x, xsp = (nint)xs, yp = (nint)y, bp = (nint)bias, sp = (nint)scales;
            // Rows are streamed one at a time (one sequential stream per thread keeps the hardware prefetcher ahead; two or four
            // interleaved rows measured 30–40 % slower here), except when x is too large to stay in L1 (ff_out: 18944 columns,
            // 74 KB in float32): then re-reading x from L2 for every row is the bottleneck, and four rows share each load of x.
            bool four = 4L * k > WideX;
            // Threads take chunks of about 1 MB of weights in turn rather than fixed halves: on a shared VM one core is often
            // slower than the other, and with fixed halves the step waits for the slow one.
            long rowBytes = (long)k * (int8 ? 1 : 2);
            int chunk = (int)Math.Clamp((1L << 20) / rowBytes / Block * Block, Block, (long)blocks * Block);
            int chunks = (n + chunk - 1) / chunk, next = 0;
            void Body(int _)
            {
                for (int c; (c = Interlocked.Increment(ref next) - 1) < chunks;)
                    Rows(c * chunk, Math.Min(n, (c + 1) * chunk));
            }
            void Rows(int r0, int r1)
            {
                float* yy = (float*)yp;
                var d = stackalloc float[Block];
                for (int r = r0; r < r1; r += four ? Block : 1)
                {
                    int rows = four ? Math.Min(Block, r1 - r) : 1;
                    for (int i = 0; i < m; i++)
                    {
                        float* xi = (float*)xp + (long)i * k;
                        if (int8)
                        {
                            if (rows == 4) Int8Dot4((sbyte*)wp + (long)r * k, k, xi, d);
                            else for (int q = 0; q < rows; q++) d[q] = Int8Dot((sbyte*)wp + (long)(r + q) * k, xi, k);
                        }
                        else if (xsp != 0)
                        {
                            float* xe = (float*)xsp + (long)i * k;
                            if (rows == 4) Bf16Dot4((ushort*)wp + (long)r * k, k, xi, xe, xe + k / 2, d);
                            else for (int q = 0; q < rows; q++) d[q] = Bf16Dot((ushort*)wp + (long)(r + q) * k, xi, xe, xe + k / 2, k);
                        }
                        else for (int q = 0; q < rows; q++) d[q] = Bf16DotAvx2((ushort*)wp + (long)(r + q) * k, xi, k);
                        for (int q = 0; q < rows; q++)
                        {
                            float s = sp == 0 ? 1f : ((float*)sp)[r + q];
                            float b = bp == 0 ? 0f : ((float*)bp)[r + q];
                            yy[(long)i * n + r + q] = d[q] * s + b;
                        }
                    }
                }
            }
            if (threads == 1) Body(0);
            else KernelThreads.Run(threads, Body);
        }
        finally { if (xs != null) NativeMemory.AlignedFree(xs); }
    }

    /// <summary>Width (bytes of float32 x) above which x no longer stays in the 32 KB L1 next to the weight stream.</summary>
    const long WideX = 24 * 1024;

    /// <summary>
    /// Σ_j W[j]·x[j] over one bf16 row of <paramref name="len"/> values. A bf16 value is the top half of a float32, and the
    /// 32-bit word at pair j holds W[2j] in its low half and W[2j+1] in its high half: (word &lt;&lt; 16) is W[2j] and
    /// (word &amp; 0xFFFF0000) is W[2j+1], exactly, as float32. Against x split into its even (xe) and odd (xo) elements, 64 bytes
    /// of weights cost one load, one shift, one AND and two FMAs, with no widening shuffles.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static float Bf16Dot(ushort* w, float* x, float* xe, float* xo, int len)
    {
        int body = len / 64 * 32;    // pairs handled by vectors; the rest by scalars
        uint* row = (uint*)w;
        Vector512<float> e0 = default, o0 = default, e1 = default, o1 = default;
        for (int j = 0; j < body; j += 32)
        {
            (e0, o0) = PairFma(Avx512F.LoadVector512(row + j), Avx512F.LoadVector512(xe + j), Avx512F.LoadVector512(xo + j), e0, o0);
            (e1, o1) = PairFma(Avx512F.LoadVector512(row + j + 16), Avx512F.LoadVector512(xe + j + 16), Avx512F.LoadVector512(xo + j + 16), e1, o1);
        }
        float s = Vector512.Sum((e0 + o0) + (e1 + o1));
        for (int j = 2 * body; j < len; j++) s += Bf16ToFloat(w[j]) * x[j];
        return s;
    }

    /// <summary>Four consecutive bf16 rows (row stride <paramref name="k"/>) against one x, each load of x serving all four.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static void Bf16Dot4(ushort* w, long k, float* x, float* xe, float* xo, float* d)
    {
        int len = (int)k, body = len / 32 * 16;
        uint* w0 = (uint*)w, w1 = (uint*)(w + k), w2 = (uint*)(w + 2 * k), w3 = (uint*)(w + 3 * k);
        Vector512<float> e0 = default, o0 = default, e1 = default, o1 = default, e2 = default, o2 = default, e3 = default, o3 = default;
        for (int j = 0; j < body; j += 16)
        {
            var ve = Avx512F.LoadVector512(xe + j);
            var vo = Avx512F.LoadVector512(xo + j);
            (e0, o0) = PairFma(Avx512F.LoadVector512(w0 + j), ve, vo, e0, o0);
            (e1, o1) = PairFma(Avx512F.LoadVector512(w1 + j), ve, vo, e1, o1);
            (e2, o2) = PairFma(Avx512F.LoadVector512(w2 + j), ve, vo, e2, o2);
            (e3, o3) = PairFma(Avx512F.LoadVector512(w3 + j), ve, vo, e3, o3);
        }
        d[0] = Vector512.Sum(e0 + o0); d[1] = Vector512.Sum(e1 + o1); d[2] = Vector512.Sum(e2 + o2); d[3] = Vector512.Sum(e3 + o3);
        for (int q = 0; q < 4; q++)
            for (int j = 2 * body; j < len; j++) d[q] += Bf16ToFloat(w[q * k + j]) * x[j];
    }

    /// <summary>One 64-byte bf16 vector (32 weights as 16 pairs) into the even and odd accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector512<float> E, Vector512<float> O) PairFma(Vector512<uint> w, Vector512<float> xe, Vector512<float> xo, Vector512<float> e, Vector512<float> o) =>
        (Avx512F.FusedMultiplyAdd(Avx512F.ShiftLeftLogical(w, 16).AsSingle(), xe, e),
         Avx512F.FusedMultiplyAdd(Avx512F.And(w, Vector512.Create(0xFFFF0000u)).AsSingle(), xo, o));

    /// <summary>Four consecutive int8 rows against one x, each load of x serving all four.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static void Int8Dot4(sbyte* w, long k, float* x, float* d)
    {
        int len = (int)k, j = 0;
        sbyte* w0 = w, w1 = w + k, w2 = w + 2 * k, w3 = w + 3 * k;
        if (Avx512F.IsSupported)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; j + 16 <= len; j += 16)
            {
                var v = Avx512F.LoadVector512(x + j);
                a0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Sse2.LoadVector128(w0 + j))), v, a0);
                a1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Sse2.LoadVector128(w1 + j))), v, a1);
                a2 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Sse2.LoadVector128(w2 + j))), v, a2);
                a3 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Sse2.LoadVector128(w3 + j))), v, a3);
            }
            d[0] = Vector512.Sum(a0); d[1] = Vector512.Sum(a1); d[2] = Vector512.Sum(a2); d[3] = Vector512.Sum(a3);
        }
        else
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; j + 8 <= len; j += 8)
            {
                var v = Avx.LoadVector256(x + j);
                a0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(w0 + j)), v, a0);
                a1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(w1 + j)), v, a1);
                a2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(w2 + j)), v, a2);
                a3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(w3 + j)), v, a3);
            }
            d[0] = Vector256.Sum(a0); d[1] = Vector256.Sum(a1); d[2] = Vector256.Sum(a2); d[3] = Vector256.Sum(a3);
        }
        for (int q = 0; q < 4; q++)
            for (int jj = j; jj < len; jj++) d[q] += w[q * k + jj] * x[jj];
    }

    /// <summary>bf16 without AVX-512: widen eight values at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static float Bf16DotAvx2(ushort* w, float* x, int len)
    {
        int j = 0;
        float s = 0;
        if (Avx2.IsSupported && Fma.IsSupported)
        {
            var a0 = Vector256<float>.Zero; var a1 = Vector256<float>.Zero;
            for (; j + 16 <= len; j += 16)
            {
                a0 = Fma.MultiplyAdd(Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(w + j), 16).AsSingle(), Avx.LoadVector256(x + j), a0);
                a1 = Fma.MultiplyAdd(Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(w + j + 8), 16).AsSingle(), Avx.LoadVector256(x + j + 8), a1);
            }
            s = Vector256.Sum(a0 + a1);
        }
        for (; j < len; j++) s += Bf16ToFloat(w[j]) * x[j];
        return s;
    }

    /// <summary>int8 row: sign-extend 16 weights to int32, convert to float32, FMA (the row's scale is applied at the end).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static float Int8Dot(sbyte* row, float* x, int len)
    {
        int j = 0;
        float s;
        if (Avx512F.IsSupported)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; j + 64 <= len; j += 64)
            {
                a0 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Sse2.LoadVector128(row + j))), Avx512F.LoadVector512(x + j), a0);
                a1 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Sse2.LoadVector128(row + j + 16))), Avx512F.LoadVector512(x + j + 16), a1);
                a2 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Sse2.LoadVector128(row + j + 32))), Avx512F.LoadVector512(x + j + 32), a2);
                a3 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Sse2.LoadVector128(row + j + 48))), Avx512F.LoadVector512(x + j + 48), a3);
            }
            s = Vector512.Sum((a0 + a1) + (a2 + a3));
        }
        else
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; j + 32 <= len; j += 32)
            {
                a0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + j)), Avx.LoadVector256(x + j), a0);
                a1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + j + 8)), Avx.LoadVector256(x + j + 8), a1);
                a2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + j + 16)), Avx.LoadVector256(x + j + 16), a2);
                a3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + j + 24)), Avx.LoadVector256(x + j + 24), a3);
            }
            s = Vector256.Sum((a0 + a1) + (a2 + a3));
        }
        for (; j < len; j++) s += row[j] * x[j];
        return s;
    }

    /// <summary>bf16 bits → float32 (exact: bf16 is the top half of a float32).</summary>
    internal static float Bf16ToFloat(ushort v) => BitConverter.Int32BitsToSingle(v << 16);

    /// <summary>float32 → bf16 bits, rounded to nearest even (finite values).</summary>
    internal static ushort FloatToBf16(float f)
    {
        int bits = BitConverter.SingleToInt32Bits(f);
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >>> 16);
    }
}
