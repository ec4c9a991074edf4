using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Molmo.Checkpoints;
using static TorchSharp.torch;

namespace Molmo.Model.Kernels;

/// <summary>
/// Attention of whole sequences on the CPU (spec §5.1 and §5.7: softmax(q·kᵀ / √hd) · v per head), in float32: the ViT
/// blocks' (bidirectional; q, k and v in float32 as the reference's <c>float32_attention</c>) and a prompt's prefill in the
/// decoder (causal, each KV head serving G consecutive query heads). libtorch's routes took, for one ViT layer of a 640×480
/// prompt (7 crops × 16 heads × 577 positions), 63–81 ms, and for one 7B-D decoder layer over its 749 positions about 40 ms,
/// on this project's 2-vCPU machines (docs/benchmarks.md, "Sequence attention"). Per KV head, kᵀ is widened to float32 and v
/// staged once; per query head, q is widened once; then per 8 query rows the scores against every key they may see (8 rows
/// × 32 keys in 16 registers), their softmax, and the 8 output rows from the values (<see cref="CpuAttention"/>'s loop, which
/// reads bf16 values as they are). Causal blocks stop at their last row's position, so a prefill does about half the work.
/// AVX-512 and AVX2 routes (AVX2: the scores of 4 rows × 16 keys at a time, the values in tiles of 8 columns).
/// </summary>
public static unsafe class CpuSequenceAttention
{
    const int Rows = 8;       // query rows a block (the scores' and the values' register blocks)
    const int Keys = 32;      // keys a step of the scores' block

    /// <summary>Whether the kernel runs here (AVX-512, or AVX2 and FMA); elsewhere this attention stays on libtorch.</summary>
    public static bool IsSupported => Avx512F.IsSupported || Avx2.IsSupported && Fma.IsSupported;

    /// <summary>False: the model leaves this attention to libtorch on the calling thread (the benchmarks' baseline).</summary>
    internal static bool Enabled { get => !_off; set => _off = !value; }
    [ThreadStatic] static bool _off;

    /// <summary>Calls of <see cref="Attend"/> made from the calling thread so far (tests: which route a pass took).</summary>
    internal static int CallsOnThisThread => _calls;
    [ThreadStatic] static int _calls;

    /// <summary>
    /// Whether <see cref="Attend"/> takes these: q [B, H, S, hd] and k, v [B, KV, L, hd] on the CPU, each with its last axis
    /// contiguous (views such as heads split from a projection, or a KV cache, are fine), q bf16 or float32, k and v both bf16
    /// or both float32, H a multiple of KV, hd a multiple of 32, no gradient, and sequences long enough to pay (S ≥ 8,
    /// L ≥ 32: the image pooling's 1 query over 4 keys, decode steps and short continuations stay elsewhere).
    /// </summary>
    public static bool CanRun(Tensor q, Tensor k, Tensor v)
    {
        if (!IsSupported || q.dim() != 4 || k.dim() != 4 || !k.shape.SequenceEqual(v.shape)) return false;
        long heads = q.shape[1], kvHeads = k.shape[1], hd = q.shape[3];
        return q.shape[0] == k.shape[0] && k.shape[3] == hd && kvHeads > 0 && heads % kvHeads == 0 && hd % 32 == 0 && hd <= 512
            && q.shape[2] >= Rows && k.shape[2] >= Keys && q.shape[2] <= k.shape[2]
            && q.dtype is ScalarType.BFloat16 or ScalarType.Float32 && k.dtype is ScalarType.BFloat16 or ScalarType.Float32 && v.dtype == k.dtype
            && new[] { q, k, v }.All(t => t.device_type == TorchSharp.DeviceType.CPU && t.stride(3) == 1 && !t.requires_grad);
    }

    /// <summary>
    /// q [B, H, S, hd] over k, v [B, KV, L, hd] (see <see cref="CanRun"/>) → [B, S, H·hd] float32, heads side by side. Query
    /// head h reads KV head h / (H / KV). Causal: query i sits at position L − S + i and sees the keys up to it (a prompt
    /// over its own keys when S = L); otherwise every query sees every key.
    /// </summary>
    public static Tensor Attend(Tensor q, Tensor k, Tensor v, bool causal)
    {
        if (!CanRun(q, k, v))
            throw new ArgumentException($"sequence attention takes CPU q [B, H, S, hd] and k, v [B, KV, L, hd] with unit strides on hd (q bf16 or float32, k and v both bf16 or both float32, H a multiple of KV, hd a multiple of 32, {Rows} ≤ S ≤ L, L ≥ {Keys}); got q [{string.Join(", ", q.shape)}] {q.dtype}, k [{string.Join(", ", k.shape)}] {k.dtype}, v [{string.Join(", ", v.shape)}] {v.dtype}");
        _calls++;
        int b = (int)q.shape[0], heads = (int)q.shape[1], s = (int)q.shape[2], hd = (int)q.shape[3];
        int kvHeads = (int)k.shape[1], len = (int)k.shape[2], groups = heads / kvHeads;
        bool qBf16 = q.dtype == ScalarType.BFloat16, kvBf16 = k.dtype == ScalarType.BFloat16;
        int qElem = qBf16 ? 2 : 4, kvElem = kvBf16 ? 2 : 4;
        var o = empty([b, s, heads * hd], ScalarType.Float32);
        nint pq = NativeTensor.DataPointer(q), pk = NativeTensor.DataPointer(k), pv = NativeTensor.DataPointer(v), po = NativeTensor.DataPointer(o);
        long qb = q.stride(0), qh = q.stride(1), qs = q.stride(2), kb = k.stride(0), kh = k.stride(1), ks = k.stride(2);
        long vb = v.stride(0), vh = v.stride(1), vst = v.stride(2);
        float scale = (float)(1.0 / Math.Sqrt(hd));
        int items = b * kvHeads;
        int sPadded = (s + Rows - 1) / Rows * Rows, lPadded = (len + Keys - 1) / Keys * Keys, offset = len - s;
        // Per thread: q as float32 [S', hd], k as float32 [L', hd] then transposed [hd, L'], v as it is [L', hd], one block's
        // scores [8, L'] and outputs [8, hd]. Padding rows and columns are zero (and stay so).
        long qf = (long)sPadded * hd, kf = (long)lPadded * hd, vf = ((long)lPadded * hd * kvElem + 3) / 4, sc = (long)Rows * lPadded, ob = (long)Rows * hd;
        long floats = qf + 2 * kf + vf + sc + ob + Rows;
        KernelThreads.ForEach(items, CpuGemv.MaxThreads, () =>
        {
            var scratch = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
            NativeMemory.Clear(scratch, (nuint)(floats * sizeof(float)));
            return (nint)scratch;
        }, (item, mine) =>
        {
            float* qw = (float*)mine, kw = qw + qf, kt = kw + kf, vw = kt + kf, scores = vw + vf, outs = scores + sc, inv = outs + ob;
            int bi = item / kvHeads, kv = item % kvHeads;
            Stage((byte*)pk + (bi * kb + kv * kh) * kvElem, kvBf16, len, ks, hd, kw);
            Transpose(kw, lPadded, hd, kt);
            byte* vsrc = (byte*)pv + (bi * vb + kv * vh) * kvElem;
            for (int t = 0; t < len; t++)
                Buffer.MemoryCopy(vsrc + t * vst * kvElem, (byte*)vw + (long)t * hd * kvElem, hd * kvElem, hd * kvElem);
            for (int g = 0; g < groups; g++)
            {
                int h = kv * groups + g;
                Stage((byte*)pq + (bi * qb + h * qh) * qElem, qBf16, s, qs, hd, qw);
                for (int i0 = 0; i0 < s; i0 += Rows)
                {
                    // The keys this block's rows may see: all of them, or up to its last row's position (causal).
                    int visible = causal ? Math.Min(len, offset + i0 + Rows) : len;
                    int width = (visible + Keys - 1) / Keys * Keys;
                    Scores(qw + (long)i0 * hd, kt, lPadded, hd, width, scale, scores);
                    for (int r = 0; r < Rows; r++)
                    {
                        float* row = scores + (long)r * width;
                        int sees = causal ? Math.Min(len, offset + i0 + r + 1) : len;   // padding rows: any, unused
                        for (int t = sees; t < width; t++) row[t] = float.NegativeInfinity;   // weight 0
                        inv[r] = 1f / CpuAttention.SoftmaxNumerators(row, width);
                    }
                    CpuAttention.ValueRows<R8>(scores, (byte*)vw, kvBf16, width, hd, inv, outs);
                    for (int r = 0; r < Rows && i0 + r < s; r++)
                        new Span<float>(outs + (long)r * hd, hd).CopyTo(
                            new Span<float>((float*)po + ((long)bi * s + i0 + r) * heads * hd + (long)h * hd, hd));
                }
            }
        }, mine => NativeMemory.AlignedFree((void*)mine));
        // The kernel read q, k and v through raw pointers: a caller's temporary must not be finalised (and freed) before it ends.
        GC.KeepAlive(q); GC.KeepAlive(k); GC.KeepAlive(v);
        return o;
    }

    /// <summary>rows rows of hd values, <paramref name="rowStride"/> elements apart, as float32 [rows, hd].</summary>
    static void Stage(byte* src, bool bf16, int rows, long rowStride, int hd, float* dst)
    {
        for (int t = 0; t < rows; t++)
            if (bf16) CpuGemv.Bf16ToFloat((ushort*)src + t * rowStride, dst + (long)t * hd, hd);
            else new Span<float>((float*)src + t * rowStride, hd).CopyTo(new Span<float>(dst + (long)t * hd, hd));
    }

    /// <summary>kt[d, t] = k[t, d] for t below <paramref name="rows"/> (a multiple of 8), one gather of 8 keys at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Transpose(float* k, int rows, int hd, float* kt)
    {
        var index = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * hd;
        for (int t = 0; t < rows; t += 8)
            for (int d = 0; d < hd; d++)
                Avx.Store(kt + (long)d * rows + t, Avx2.GatherVector256(k + (long)t * hd + d, index, 4));
    }

    /// <summary>
    /// scores[r, t] = (q[r] · k[t]) · scale for 8 query rows and the first <paramref name="keys"/> keys (a multiple of 32; rows
    /// of scores that long): per 32 keys, 8 × 2 sums in registers over hd, each step two vectors of kᵀ (rows
    /// <paramref name="ktStride"/> apart) against 8 broadcast values of q. The stores come after the loop, with no call in
    /// between, so the sums stay in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Scores(float* q, float* kt, int ktStride, int hd, int keys, float scale, float* scores)
    {
        if (!Avx512F.IsSupported)
        {
            ScoresAvx2(q, kt, ktStride, hd, keys, scale, scores);
            ScoresAvx2(q + 4 * hd, kt, ktStride, hd, keys, scale, scores + 4L * keys);
            return;
        }
        var s = Vector512.Create(scale);
        float* q1 = q + hd, q2 = q + 2 * hd, q3 = q + 3 * hd, q4 = q + 4 * hd, q5 = q + 5 * hd, q6 = q + 6 * hd, q7 = q + 7 * hd;
        for (int t = 0; t < keys; t += Keys)
        {
            Vector512<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
            Vector512<float> a4 = default, b4 = default, a5 = default, b5 = default, a6 = default, b6 = default, a7 = default, b7 = default;
            float* col = kt + t;
            for (int d = 0; d < hd; d++, col += ktStride)
            {
                var lo = Avx512F.LoadVector512(col);
                var hi = Avx512F.LoadVector512(col + 16);
                var w = Vector512.Create(q[d]); a0 = Avx512F.FusedMultiplyAdd(w, lo, a0); b0 = Avx512F.FusedMultiplyAdd(w, hi, b0);
                w = Vector512.Create(q1[d]); a1 = Avx512F.FusedMultiplyAdd(w, lo, a1); b1 = Avx512F.FusedMultiplyAdd(w, hi, b1);
                w = Vector512.Create(q2[d]); a2 = Avx512F.FusedMultiplyAdd(w, lo, a2); b2 = Avx512F.FusedMultiplyAdd(w, hi, b2);
                w = Vector512.Create(q3[d]); a3 = Avx512F.FusedMultiplyAdd(w, lo, a3); b3 = Avx512F.FusedMultiplyAdd(w, hi, b3);
                w = Vector512.Create(q4[d]); a4 = Avx512F.FusedMultiplyAdd(w, lo, a4); b4 = Avx512F.FusedMultiplyAdd(w, hi, b4);
                w = Vector512.Create(q5[d]); a5 = Avx512F.FusedMultiplyAdd(w, lo, a5); b5 = Avx512F.FusedMultiplyAdd(w, hi, b5);
                w = Vector512.Create(q6[d]); a6 = Avx512F.FusedMultiplyAdd(w, lo, a6); b6 = Avx512F.FusedMultiplyAdd(w, hi, b6);
                w = Vector512.Create(q7[d]); a7 = Avx512F.FusedMultiplyAdd(w, lo, a7); b7 = Avx512F.FusedMultiplyAdd(w, hi, b7);
            }
            float* row = scores + t;
            Avx512F.Store(row, a0 * s); Avx512F.Store(row + 16, b0 * s); row += keys;
            Avx512F.Store(row, a1 * s); Avx512F.Store(row + 16, b1 * s); row += keys;
            Avx512F.Store(row, a2 * s); Avx512F.Store(row + 16, b2 * s); row += keys;
            Avx512F.Store(row, a3 * s); Avx512F.Store(row + 16, b3 * s); row += keys;
            Avx512F.Store(row, a4 * s); Avx512F.Store(row + 16, b4 * s); row += keys;
            Avx512F.Store(row, a5 * s); Avx512F.Store(row + 16, b5 * s); row += keys;
            Avx512F.Store(row, a6 * s); Avx512F.Store(row + 16, b6 * s); row += keys;
            Avx512F.Store(row, a7 * s); Avx512F.Store(row + 16, b7 * s);
        }
    }

    /// <summary>
    /// <see cref="Scores"/> with AVX2, for 4 query rows: per 16 keys, 4 × 2 sums in registers over hd (16 registers hold no
    /// more beside the loads), each step two vectors of kᵀ against 4 broadcast values of q.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void ScoresAvx2(float* q, float* kt, int ktStride, int hd, int keys, float scale, float* scores)
    {
        var s = Vector256.Create(scale);
        float* q1 = q + hd, q2 = q + 2 * hd, q3 = q + 3 * hd;
        for (int t = 0; t < keys; t += 16)
        {
            Vector256<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
            float* col = kt + t;
            for (int d = 0; d < hd; d++, col += ktStride)
            {
                var lo = Avx.LoadVector256(col);
                var hi = Avx.LoadVector256(col + 8);
                var w = Vector256.Create(q[d]); a0 = Fma.MultiplyAdd(w, lo, a0); b0 = Fma.MultiplyAdd(w, hi, b0);
                w = Vector256.Create(q1[d]); a1 = Fma.MultiplyAdd(w, lo, a1); b1 = Fma.MultiplyAdd(w, hi, b1);
                w = Vector256.Create(q2[d]); a2 = Fma.MultiplyAdd(w, lo, a2); b2 = Fma.MultiplyAdd(w, hi, b2);
                w = Vector256.Create(q3[d]); a3 = Fma.MultiplyAdd(w, lo, a3); b3 = Fma.MultiplyAdd(w, hi, b3);
            }
            float* row = scores + t;
            Avx.Store(row, a0 * s); Avx.Store(row + 8, b0 * s); row += keys;
            Avx.Store(row, a1 * s); Avx.Store(row + 8, b1 * s); row += keys;
            Avx.Store(row, a2 * s); Avx.Store(row + 8, b2 * s); row += keys;
            Avx.Store(row, a3 * s); Avx.Store(row + 8, b3 * s);
        }
    }
}
