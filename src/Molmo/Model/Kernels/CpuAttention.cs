using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Molmo.Checkpoints;
using static TorchSharp.torch;

namespace Molmo.Model.Kernels;

/// <summary>
/// One decode step's attention on the CPU (spec §5.7: softmax(q·kᵀ / √hd) · v per head, each KV head serving G consecutive
/// query heads) read straight from the KV cache, in bf16 or float32, with float32 arithmetic throughout. libtorch's batched
/// matmuls for these shapes (G query rows against L keys per head) ran at a fraction of memory speed: 7B-D heads, 16
/// sequences of 800 positions, 86 ms a step in float32 and 161 ms in bf16 (`bench attention`). Reading the cache is the
/// floor, so the kernel also lets the CPU cache be bf16 for bf16 models, half the bytes (the keys and values are bf16 values
/// to begin with, so nothing is lost). AVX-512 and AVX2 routes.
/// </summary>
public static unsafe class CpuAttention
{
    /// <summary>Whether the kernel runs here (AVX-512, or AVX2 and FMA); elsewhere decode attention stays on libtorch.</summary>
    public static bool IsSupported => Avx512F.IsSupported || Avx2.IsSupported && Fma.IsSupported;

    /// <summary>Whether the kernel takes these shapes: up to 8 query heads per KV head and a head width that is a multiple of 32.</summary>
    public static bool Handles(long heads, long kvHeads, long headDim) =>
        kvHeads > 0 && heads % kvHeads == 0 && heads / kvHeads <= 8 && headDim % 32 == 0 && headDim <= 512;

    /// <summary>Whether <see cref="Decode"/> takes these tensors (otherwise decode attention stays on libtorch).</summary>
    public static bool CanRun(Tensor q, Tensor k, Tensor v) =>
        IsSupported && q.device_type == TorchSharp.DeviceType.CPU && !q.requires_grad && q.dim() == 4 && k.dim() == 4
        && Handles(q.shape[1], k.shape[1], q.shape[3]) && k.dtype == v.dtype && k.dtype is ScalarType.BFloat16 or ScalarType.Float32
        && RowsContiguous(k, q.shape[3]) && RowsContiguous(v, q.shape[3]);

    /// <summary>Each head's L rows of width hd lie one after the other on the CPU (a cache view does; a fresh projection may not).</summary>
    static bool RowsContiguous(Tensor t, long hd) => t.device_type == TorchSharp.DeviceType.CPU && t.stride(3) == 1 && t.stride(2) == hd;

    /// <summary>
    /// q [B, H, 1, hd] (any float dtype) against k, v [B, KV, L, hd] (bf16 or float32; views of a cache are fine as long as each
    /// head's L rows are contiguous), with an optional bool mask [B, 1, 1, L] (true = attend) → [B, 1, H·hd] float32.
    /// </summary>
    public static Tensor Decode(Tensor q, Tensor k, Tensor v, Tensor? mask)
    {
        if (!IsSupported) throw new PlatformNotSupportedException("the CPU attention kernel needs AVX-512, or AVX2 and FMA");
        if (q.dim() != 4 || k.dim() != 4 || v.dim() != 4 || q.shape[2] != 1)
            throw new ArgumentException("decode attention takes q [B, H, 1, hd] and k, v [B, KV, L, hd]");
        long b = q.shape[0], heads = q.shape[1], hd = q.shape[3], kvHeads = k.shape[1], len = k.shape[2];
        if (!k.shape.SequenceEqual(v.shape) || k.shape[0] != b || k.shape[3] != hd)
            throw new ArgumentException($"k [{string.Join(", ", k.shape)}] and v [{string.Join(", ", v.shape)}] do not match q [{string.Join(", ", q.shape)}]");
        if (!Handles(heads, kvHeads, hd)) throw new ArgumentException($"{heads} query heads over {kvHeads} KV heads of width {hd} are not handled");
        if (k.dtype != v.dtype || k.dtype is not (ScalarType.BFloat16 or ScalarType.Float32))
            throw new ArgumentException($"k and v must both be bf16 or float32, not {k.dtype} and {v.dtype}");
        if (!RowsContiguous(k, hd) || !RowsContiguous(v, hd))
            throw new ArgumentException("each head's keys and values must be contiguous [L, hd] rows on the CPU");
        if (mask is not null && mask.NumberOfElements != b * len) throw new ArgumentException($"the mask must hold [B, L] = [{b}, {len}] values");

        using var scope = NewDisposeScope();
        var qf = q.to(ScalarType.Float32).contiguous();
        var m = mask?.to(ScalarType.Bool).reshape(b, len).contiguous();
        var o = empty([b, 1, heads * hd], ScalarType.Float32);
        bool bf16 = k.dtype == ScalarType.BFloat16;
        int elem = bf16 ? 2 : 4, groups = (int)(heads / kvHeads);
        nint pq = NativeTensor.DataPointer(qf), po = NativeTensor.DataPointer(o);
        nint pk = NativeTensor.DataPointer(k), pv = NativeTensor.DataPointer(v), pm = m is null ? 0 : NativeTensor.DataPointer(m);
        long kb = k.stride(0), kh = k.stride(1), vb = v.stride(0), vh = v.stride(1);
        float scale = (float)(1.0 / Math.Sqrt(hd));
        KernelThreads.ForEach((int)(b * kvHeads), CpuGemv.MaxThreads, item =>
        {
            long bi = item / kvHeads, h = item % kvHeads;
            Head((float*)pq + (bi * heads + h * groups) * hd,
                 (byte*)pk + (bi * kb + h * kh) * elem, (byte*)pv + (bi * vb + h * vh) * elem, bf16,
                 (int)len, (int)hd, groups, scale, pm == 0 ? null : (bool*)pm + bi * len,
                 (float*)po + (bi * heads + h * groups) * hd);
        });
        // The kernel read k and v through raw pointers: a caller's temporary must not be finalised (and freed) before it ends.
        GC.KeepAlive(k); GC.KeepAlive(v);
        return o.MoveToOuterDisposeScope();
    }

    /// <summary>One KV head: G query rows q [G, hd], keys and values [L, hd], output [G, hd].</summary>
    static void Head(float* q, byte* k, byte* v, bool bf16, int len, int hd, int groups, float scale, bool* mask, float* o)
    {
        var rented = ArrayPool<float>.Shared.Rent(groups * len + 4 * hd);
        try
        {
            fixed (float* buffer = rented)
            {
                float* scores = buffer, keys = buffer + groups * len;
                Scores(q, k, bf16, len, hd, groups, scale, mask, scores, keys);
                var inv = stackalloc float[groups];
                for (int g = 0; g < groups; g++) inv[g] = 1f / SoftmaxNumerators(scores + (long)g * len, len);
                switch (groups)
                {
                    case 1: ValueRows<R1>(scores, v, bf16, len, hd, inv, o); break;
                    case 2: ValueRows<R2>(scores, v, bf16, len, hd, inv, o); break;
                    case 3: ValueRows<R3>(scores, v, bf16, len, hd, inv, o); break;
                    case 4: ValueRows<R4>(scores, v, bf16, len, hd, inv, o); break;
                    case 5: ValueRows<R5>(scores, v, bf16, len, hd, inv, o); break;
                    case 6: ValueRows<R6>(scores, v, bf16, len, hd, inv, o); break;
                    case 7: ValueRows<R7>(scores, v, bf16, len, hd, inv, o); break;
                    default: ValueRows<R8>(scores, v, bf16, len, hd, inv, o); break;
                }
            }
        }
        finally { ArrayPool<float>.Shared.Return(rented); }
    }

    /// <summary>
    /// scores[g, t] = (q[g] · k[t]) · scale, −∞ where the mask is false. Four keys at a time (converted to float32 first when
    /// bf16): each query row runs four accumulators over hd, and the four sums come out of one horizontal-add tree.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: this loop is part of every decode step
    static void Scores(float* q, byte* k, bool bf16, int len, int hd, int groups, float scale, bool* mask, float* scores, float* keys)
    {
        var vscale = Vector128.Create(scale);
        for (int t = 0; t < len; t += 4)
        {
            int n = Math.Min(4, len - t);
            float* k4;
            if (bf16 || n < 4)
            {
                for (int i = 0; i < 4; i++)
                {
                    float* dst = keys + i * hd;
                    if (i >= n) { new Span<float>(dst, hd).Clear(); continue; }
                    if (bf16) CpuGemv.Bf16ToFloat((ushort*)k + (long)(t + i) * hd, dst, hd);
                    else new Span<float>((float*)k + (long)(t + i) * hd, hd).CopyTo(new Span<float>(dst, hd));
                }
                k4 = keys;
            }
            else k4 = (float*)k + (long)t * hd;
            for (int g = 0; g < groups; g++)
            {
                float* qg = q + (long)g * hd;
                var sums = Sse.Multiply(Avx512F.IsSupported ? Dot4(qg, k4, hd) : Dot4Avx2(qg, k4, hd), vscale);
                float* row = scores + (long)g * len + t;
                if (n == 4) Sse.Store(row, sums);
                else for (int i = 0; i < n; i++) row[i] = sums.GetElement(i);
            }
            if (mask is not null)
                for (int i = 0; i < n; i++)
                    if (!mask[t + i])
                        for (int g = 0; g < groups; g++) scores[(long)g * len + t + i] = float.NegativeInfinity;
        }
    }

    /// <summary>(q · k4[0], …, q · k4[3]) for four consecutive key rows of width hd (AVX-512).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<float> Dot4(float* q, float* k4, int hd)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int c = 0; c < hd; c += 16)
        {
            var qv = Avx512F.LoadVector512(q + c);
            a0 = Avx512F.FusedMultiplyAdd(Avx512F.LoadVector512(k4 + c), qv, a0);
            a1 = Avx512F.FusedMultiplyAdd(Avx512F.LoadVector512(k4 + hd + c), qv, a1);
            a2 = Avx512F.FusedMultiplyAdd(Avx512F.LoadVector512(k4 + 2 * hd + c), qv, a2);
            a3 = Avx512F.FusedMultiplyAdd(Avx512F.LoadVector512(k4 + 3 * hd + c), qv, a3);
        }
        return Sum4(a0, a1, a2, a3);
    }

    /// <summary><see cref="Dot4"/> with AVX2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<float> Dot4Avx2(float* q, float* k4, int hd)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int c = 0; c < hd; c += 8)
        {
            var qv = Avx.LoadVector256(q + c);
            a0 = Fma.MultiplyAdd(Avx.LoadVector256(k4 + c), qv, a0);
            a1 = Fma.MultiplyAdd(Avx.LoadVector256(k4 + hd + c), qv, a1);
            a2 = Fma.MultiplyAdd(Avx.LoadVector256(k4 + 2 * hd + c), qv, a2);
            a3 = Fma.MultiplyAdd(Avx.LoadVector256(k4 + 3 * hd + c), qv, a3);
        }
        static Vector128<float> Half(Vector256<float> a) => a.GetLower() + a.GetUpper();
        return Sse3.HorizontalAdd(Sse3.HorizontalAdd(Half(a0), Half(a1)), Sse3.HorizontalAdd(Half(a2), Half(a3)));
    }

    /// <summary>(Σ a0, Σ a1, Σ a2, Σ a3): each halved twice to 128 bits, then two levels of horizontal adds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<float> Sum4(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3)
    {
        static Vector128<float> Half(Vector512<float> a)
        {
            var h = a.GetLower() + a.GetUpper();
            return h.GetLower() + h.GetUpper();
        }
        return Sse3.HorizontalAdd(Sse3.HorizontalAdd(Half(a0), Half(a1)), Sse3.HorizontalAdd(Half(a2), Half(a3)));
    }

    /// <summary>
    /// Replaces a row of scores by exp(score − max) and returns their sum (the softmax's denominator). Every score, the last
    /// ones too, goes through the vector e^x into lane t mod the vector width, so scores past a row's end that are −∞ (masked
    /// keys) change no bit of the others or of the sum.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: this loop is part of every decode step
    internal static float SoftmaxNumerators(float* row, int len)
    {
        if (!Avx512F.IsSupported) return SoftmaxNumeratorsAvx2(row, len);
        int j = 0;
        var vmax = Vector512.Create(float.NegativeInfinity);
        for (; j + 16 <= len; j += 16) vmax = Avx512F.Max(vmax, Avx512F.LoadVector512(row + j));
        float max = float.NegativeInfinity;
        for (int i = 0; i < 16; i++) max = Math.Max(max, vmax.GetElement(i));
        for (int t = j; t < len; t++) max = Math.Max(max, row[t]);
        var vm = Vector512.Create(max);
        var vsum = Vector512<float>.Zero;
        for (j = 0; j + 16 <= len; j += 16)
        {
            var e = Exp(Avx512F.LoadVector512(row + j) - vm);
            Avx512F.Store(row + j, e);
            vsum += e;
        }
        if (j < len)
        {
            // The last scores as a whole vector, −∞ past the end (e^−∞ = 0): score t is raised by the same vector e^x and
            // summed in lane t mod 16 whatever the row's length, so a row padded with masked keys (a shorter request in a
            // batched step) gets the bits it gets alone.
            var last = stackalloc float[16];
            var e = Exp(Avx512F.LoadVector512(Padded(row, j, len, last, 16)) - vm);
            Avx512F.Store(last, e);
            Unpad(last, row, j, len);
            vsum += e;
        }
        return Vector512.Sum(vsum);
    }

    /// <summary><see cref="SoftmaxNumerators"/> with AVX2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static float SoftmaxNumeratorsAvx2(float* row, int len)
    {
        int j = 0;
        var vmax = Vector256.Create(float.NegativeInfinity);
        for (; j + 8 <= len; j += 8) vmax = Avx.Max(vmax, Avx.LoadVector256(row + j));
        float max = float.NegativeInfinity;
        for (int i = 0; i < 8; i++) max = Math.Max(max, vmax.GetElement(i));
        for (int t = j; t < len; t++) max = Math.Max(max, row[t]);
        var vm = Vector256.Create(max);
        var vsum = Vector256<float>.Zero;
        for (j = 0; j + 8 <= len; j += 8)
        {
            var e = Exp(Avx.LoadVector256(row + j) - vm);
            Avx.Store(row + j, e);
            vsum += e;
        }
        if (j < len)
        {
            // As with AVX-512: the last scores as a whole vector, −∞ past the end, so that a padded row sums as alone.
            var last = stackalloc float[8];
            var e = Exp(Avx.LoadVector256(Padded(row, j, len, last, 8)) - vm);
            Avx.Store(last, e);
            Unpad(last, row, j, len);
            vsum += e;
        }
        return Vector256.Sum(vsum);
    }

    /// <summary>row[j … len) into the first lanes of <paramref name="last"/> (<paramref name="width"/> of them), −∞ in the rest.</summary>
    static float* Padded(float* row, int j, int len, float* last, int width)
    {
        for (int i = 0; i < width; i++) last[i] = j + i < len ? row[j + i] : float.NegativeInfinity;
        return last;
    }

    /// <summary>The first len − j lanes of <paramref name="last"/> back into row[j … len).</summary>
    static void Unpad(float* last, float* row, int j, int len) => new Span<float>(last, len - j).CopyTo(new Span<float>(row + j, len - j));

    /// <summary>
    /// e^x in float32 within one ulp (largest relative error 1.2e-7 over the whole range), 0 below −87.34 and for −∞, NaN for
    /// NaN. .NET's <c>Vector512.Exp</c> took ~2 ns an element for softmax arguments on this project's machines, ten times
    /// this: most of the ViT attention's time. Cody–Waite reduction x = n·ln 2 + r (ln 2 in two parts), e^r by Cephes' degree-6
    /// polynomial, then r's result scaled by 2^n (<c>vscalefps</c>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Exp(Vector512<float> x)
    {
        var low = Vector512.Create(-87.33654f);
        var zero = Avx512F.CompareLessThan(x, low);        // e^x below the smallest normal float: 0 (also for −∞)
        var nan = Avx512F.CompareUnordered(x, x);
        var c = Avx512F.Min(Avx512F.Max(x, low), Vector512.Create(88.72283f));
        var n = Avx512F.RoundScale(c * Vector512.Create(1.44269504088896341f), 0);   // round(x / ln 2), to nearest
        var r = Avx512F.FusedMultiplyAdd(n, Vector512.Create(-0.693359375f), c);
        r = Avx512F.FusedMultiplyAdd(n, Vector512.Create(2.12194440e-4f), r);
        var p = Vector512.Create(1.9875691500e-4f);
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1.3981999507e-3f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(8.3334519073e-3f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(4.1665795894e-2f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1.6666665459e-1f));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(5.0000001201e-1f));
        p = Avx512F.FusedMultiplyAdd(p, r * r, r + Vector512<float>.One);
        var e = Vector512.ConditionalSelect(zero, Vector512<float>.Zero, Avx512F.Scale(p, n));
        return Vector512.ConditionalSelect(nan, x, e);
    }

    /// <summary>
    /// <see cref="Exp(Vector512{float})"/> with AVX2, the same reduction and polynomial; 2^n (n in [−126, 128]) as the product
    /// of two powers of two built in the exponent bits, each within the normal range (AVX2 has no vscalefps).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Exp(Vector256<float> x)
    {
        var low = Vector256.Create(-87.33654f);
        var zero = Avx.CompareLessThan(x, low);
        var nan = Avx.CompareUnordered(x, x);
        var c = Avx.Min(Avx.Max(x, low), Vector256.Create(88.72283f));
        var n = Avx.RoundToNearestInteger(c * Vector256.Create(1.44269504088896341f));
        var r = Fma.MultiplyAdd(n, Vector256.Create(-0.693359375f), c);
        r = Fma.MultiplyAdd(n, Vector256.Create(2.12194440e-4f), r);
        var p = Vector256.Create(1.9875691500e-4f);
        p = Fma.MultiplyAdd(p, r, Vector256.Create(1.3981999507e-3f));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(8.3334519073e-3f));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(4.1665795894e-2f));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(1.6666665459e-1f));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(5.0000001201e-1f));
        p = Fma.MultiplyAdd(p, r * r, r + Vector256<float>.One);
        var ni = Avx.ConvertToVector256Int32(n);
        var n1 = Avx2.ShiftRightArithmetic(ni, 1);
        var bias = Vector256.Create(127);
        var f1 = Avx2.ShiftLeftLogical(n1 + bias, 23).AsSingle();
        var f2 = Avx2.ShiftLeftLogical(ni - n1 + bias, 23).AsSingle();
        var e = Vector256.ConditionalSelect(zero, Vector256<float>.Zero, p * f1 * f2);
        return Vector256.ConditionalSelect(nan, x, e);
    }

    /// <summary>
    /// The G output rows of one KV head, every column: <see cref="Values{TG}"/> over tiles of 32 columns with AVX-512, else
    /// <see cref="ValuesAvx2{TG}"/> over tiles of 8 (16 registers do not hold 2·G accumulators of 8 lanes).
    /// </summary>
    internal static void ValueRows<TG>(float* p, byte* v, bool bf16, int len, int hd, float* inv, float* o) where TG : struct, IRowCount
    {
        if (Avx512F.IsSupported)
            for (int tile = 0; tile < hd; tile += 32) Values<TG>(p, v, bf16, len, hd, tile, inv, o);
        else
            for (int tile = 0; tile < hd; tile += 8) ValuesAvx2<TG>(p, v, bf16, len, hd, tile, inv, o);
    }

    /// <summary>
    /// o[g, tile…tile+8) = Σ_t p[g, t] · v[t, tile…tile+8) / Σ_t p[g, t] for the G query rows of one KV head (AVX2): one vector
    /// of v per key (converted when bf16) feeds one FMA per query row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: this loop is part of every decode step
    static void ValuesAvx2<TG>(float* p, byte* v, bool bf16, int len, int hd, int tile, float* inv, float* o) where TG : struct, IRowCount
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        float* p0 = p, p1 = p + len, p2 = p + 2L * len, p3 = p + 3L * len, p4 = p + 4L * len, p5 = p + 5L * len, p6 = p + 6L * len, p7 = p + 7L * len;
        for (int t = 0; t < len; t++)
        {
            var x = bf16 ? CpuGemv.Bf16ToFloat8((ushort*)v + (long)t * hd + tile) : Avx.LoadVector256((float*)v + (long)t * hd + tile);
            a0 = Fma.MultiplyAdd(Vector256.Create(p0[t]), x, a0);
            if (TG.N > 1) a1 = Fma.MultiplyAdd(Vector256.Create(p1[t]), x, a1);
            if (TG.N > 2) a2 = Fma.MultiplyAdd(Vector256.Create(p2[t]), x, a2);
            if (TG.N > 3) a3 = Fma.MultiplyAdd(Vector256.Create(p3[t]), x, a3);
            if (TG.N > 4) a4 = Fma.MultiplyAdd(Vector256.Create(p4[t]), x, a4);
            if (TG.N > 5) a5 = Fma.MultiplyAdd(Vector256.Create(p5[t]), x, a5);
            if (TG.N > 6) a6 = Fma.MultiplyAdd(Vector256.Create(p6[t]), x, a6);
            if (TG.N > 7) a7 = Fma.MultiplyAdd(Vector256.Create(p7[t]), x, a7);
        }
        Avx.Store(o + tile, a0 * Vector256.Create(inv[0]));
        if (TG.N > 1) Avx.Store(o + hd + tile, a1 * Vector256.Create(inv[1]));
        if (TG.N > 2) Avx.Store(o + 2L * hd + tile, a2 * Vector256.Create(inv[2]));
        if (TG.N > 3) Avx.Store(o + 3L * hd + tile, a3 * Vector256.Create(inv[3]));
        if (TG.N > 4) Avx.Store(o + 4L * hd + tile, a4 * Vector256.Create(inv[4]));
        if (TG.N > 5) Avx.Store(o + 5L * hd + tile, a5 * Vector256.Create(inv[5]));
        if (TG.N > 6) Avx.Store(o + 6L * hd + tile, a6 * Vector256.Create(inv[6]));
        if (TG.N > 7) Avx.Store(o + 7L * hd + tile, a7 * Vector256.Create(inv[7]));
    }

    /// <summary>
    /// o[g, tile…tile+32) = Σ_t p[g, t] · v[t, tile…tile+32) / Σ_t p[g, t] for the G query rows of one KV head: two vectors of v
    /// per key (converted once when bf16) feed two FMAs per query row; G fixed at JIT time keeps the 2·G sums in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: this loop is part of every decode step
    static void Values<TG>(float* p, byte* v, bool bf16, int len, int hd, int tile, float* inv, float* o) where TG : struct, IRowCount
    {
        Vector512<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
        Vector512<float> a4 = default, b4 = default, a5 = default, b5 = default, a6 = default, b6 = default, a7 = default, b7 = default;
        float* p0 = p, p1 = p + len, p2 = p + 2L * len, p3 = p + 3L * len, p4 = p + 4L * len, p5 = p + 5L * len, p6 = p + 6L * len, p7 = p + 7L * len;
        for (int t = 0; t < len; t++)
        {
            Vector512<float> lo, hi;
            if (bf16)
            {
                ushort* row = (ushort*)v + (long)t * hd + tile;
                lo = CpuGemv.Bf16ToFloat16(row);
                hi = CpuGemv.Bf16ToFloat16(row + 16);
            }
            else
            {
                float* row = (float*)v + (long)t * hd + tile;
                lo = Avx512F.LoadVector512(row);
                hi = Avx512F.LoadVector512(row + 16);
            }
            var w = Vector512.Create(p0[t]); a0 = Avx512F.FusedMultiplyAdd(w, lo, a0); b0 = Avx512F.FusedMultiplyAdd(w, hi, b0);
            if (TG.N > 1) { w = Vector512.Create(p1[t]); a1 = Avx512F.FusedMultiplyAdd(w, lo, a1); b1 = Avx512F.FusedMultiplyAdd(w, hi, b1); }
            if (TG.N > 2) { w = Vector512.Create(p2[t]); a2 = Avx512F.FusedMultiplyAdd(w, lo, a2); b2 = Avx512F.FusedMultiplyAdd(w, hi, b2); }
            if (TG.N > 3) { w = Vector512.Create(p3[t]); a3 = Avx512F.FusedMultiplyAdd(w, lo, a3); b3 = Avx512F.FusedMultiplyAdd(w, hi, b3); }
            if (TG.N > 4) { w = Vector512.Create(p4[t]); a4 = Avx512F.FusedMultiplyAdd(w, lo, a4); b4 = Avx512F.FusedMultiplyAdd(w, hi, b4); }
            if (TG.N > 5) { w = Vector512.Create(p5[t]); a5 = Avx512F.FusedMultiplyAdd(w, lo, a5); b5 = Avx512F.FusedMultiplyAdd(w, hi, b5); }
            if (TG.N > 6) { w = Vector512.Create(p6[t]); a6 = Avx512F.FusedMultiplyAdd(w, lo, a6); b6 = Avx512F.FusedMultiplyAdd(w, hi, b6); }
            if (TG.N > 7) { w = Vector512.Create(p7[t]); a7 = Avx512F.FusedMultiplyAdd(w, lo, a7); b7 = Avx512F.FusedMultiplyAdd(w, hi, b7); }
        }
        Store(o, hd, tile, 0, inv, a0, b0);
        if (TG.N > 1) Store(o, hd, tile, 1, inv, a1, b1);
        if (TG.N > 2) Store(o, hd, tile, 2, inv, a2, b2);
        if (TG.N > 3) Store(o, hd, tile, 3, inv, a3, b3);
        if (TG.N > 4) Store(o, hd, tile, 4, inv, a4, b4);
        if (TG.N > 5) Store(o, hd, tile, 5, inv, a5, b5);
        if (TG.N > 6) Store(o, hd, tile, 6, inv, a6, b6);
        if (TG.N > 7) Store(o, hd, tile, 7, inv, a7, b7);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store(float* o, int hd, int tile, int g, float* inv, Vector512<float> lo, Vector512<float> hi)
    {
        var s = Vector512.Create(inv[g]);
        Avx512F.Store(o + (long)g * hd + tile, lo * s);
        Avx512F.Store(o + (long)g * hd + tile + 16, hi * s);
    }
}
