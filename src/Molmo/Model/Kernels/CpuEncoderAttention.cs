using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Molmo.Checkpoints;
using static TorchSharp.torch;

namespace Molmo.Model.Kernels;

/// <summary>
/// Bidirectional attention over whole sequences on the CPU: the ViT blocks' (spec §5.1: softmax(q·kᵀ / √hd) · v per head,
/// q, k and v in float32 as the reference's <c>float32_attention</c>). For one ViT layer of a 640×480 prompt (7 crops × 16
/// heads × 577 positions) libtorch's float32 SDPA route took 63–81 ms on this project's 2-vCPU machines, 1.5–1.9 s of a
/// prefill over the 23 layers; this kernel takes 33–43 ms (docs/benchmarks.md, "Encoder attention"). Per head, q and kᵀ are
/// widened to float32 once; then per 8 query rows the scores against every key (8 rows × 32 keys in 16 registers), their
/// softmax, and the 8 output rows from the values (<see cref="CpuAttention"/>'s loop, which reads bf16 values as they are).
/// Float32 arithmetic throughout, as SDPA's.
/// </summary>
public static unsafe class CpuEncoderAttention
{
    const int Rows = 8;       // query rows a block (the scores' and the values' register blocks)
    const int Keys = 32;      // keys a step of the scores' block

    /// <summary>Whether the kernel runs here (AVX-512); elsewhere this attention stays on libtorch.</summary>
    public static bool IsSupported => Avx512F.IsSupported;

    /// <summary>False: the attention module leaves this attention to libtorch on the calling thread (the benchmark's baseline).</summary>
    internal static bool Enabled { get => !_off; set => _off = !value; }
    [ThreadStatic] static bool _off;

    /// <summary>
    /// Whether <see cref="Attend"/> takes these: q [N, Lq, H·hd] and k, v [N, Lk, H·hd], contiguous on the CPU, all bf16 or all
    /// float32, no gradient, hd a multiple of 32, and sequences long enough to pay (Lq ≥ 8, Lk ≥ 32; the pooling's 1 query
    /// over 4 keys stays on libtorch).
    /// </summary>
    public static bool CanRun(Tensor q, Tensor k, Tensor v, int heads)
    {
        if (!IsSupported || heads <= 0 || q.dim() != 3 || k.dim() != 3 || !k.shape.SequenceEqual(v.shape)) return false;
        if (q.shape[0] != k.shape[0] || q.shape[2] != k.shape[2] || q.shape[2] % heads != 0) return false;
        long hd = q.shape[2] / heads;
        return hd % 32 == 0 && hd <= 512 && q.shape[1] >= Rows && k.shape[1] >= Keys
            && q.dtype is ScalarType.BFloat16 or ScalarType.Float32 && k.dtype == q.dtype && v.dtype == q.dtype
            && new[] { q, k, v }.All(t => t.device_type == TorchSharp.DeviceType.CPU && t.is_contiguous() && !t.requires_grad);
    }

    /// <summary>q [N, Lq, H·hd] over k, v [N, Lk, H·hd] (see <see cref="CanRun"/>) → [N, Lq, H·hd] float32, heads side by side.</summary>
    public static Tensor Attend(Tensor q, Tensor k, Tensor v, int heads)
    {
        if (!CanRun(q, k, v, heads))
            throw new ArgumentException($"encoder attention takes contiguous CPU q [N, Lq, H·hd] and k, v [N, Lk, H·hd] (bf16 or float32, hd a multiple of 32, Lq ≥ {Rows}, Lk ≥ {Keys}); got q [{string.Join(", ", q.shape)}] {q.dtype}, k [{string.Join(", ", k.shape)}] {k.dtype} over {heads} heads");
        int n = (int)q.shape[0], lq = (int)q.shape[1], lk = (int)k.shape[1], width = (int)q.shape[2], hd = width / heads;
        bool bf16 = q.dtype == ScalarType.BFloat16;
        int elem = bf16 ? 2 : 4;
        var o = empty([n, lq, width], ScalarType.Float32);
        nint pq = NativeTensor.DataPointer(q), pk = NativeTensor.DataPointer(k), pv = NativeTensor.DataPointer(v), po = NativeTensor.DataPointer(o);
        float scale = (float)(1.0 / Math.Sqrt(hd));
        int items = n * heads, next = 0;
        int lqPadded = (lq + Rows - 1) / Rows * Rows, lkPadded = (lk + Keys - 1) / Keys * Keys;
        // Per thread: q as float32 [Lq', hd], k as float32 [Lk', hd] then transposed [hd, Lk'], v as it is [Lk', hd], one
        // block's scores [8, Lk'] and outputs [8, hd]. Padding rows and columns are zero (and stay so).
        long qf = (long)lqPadded * hd, kf = (long)lkPadded * hd, vs = ((long)lkPadded * hd * elem + 3) / 4, sc = (long)Rows * lkPadded, ob = (long)Rows * hd;
        long floats = qf + 2 * kf + vs + sc + ob + Rows;
        KernelThreads.Run(Math.Max(1, Math.Min(CpuGemv.MaxThreads, items)), _ =>
        {
            float* scratch = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
            try
            {
                NativeMemory.Clear(scratch, (nuint)(floats * sizeof(float)));
                float* qs = scratch, ks = qs + qf, kt = ks + kf, vsrc = kt + kf, scores = vsrc + vs, outs = scores + sc, inv = outs + ob;
                for (int item; (item = Interlocked.Increment(ref next) - 1) < items;)
                {
                    int b = item / heads, h = item % heads;
                    long qRow = (long)b * lq * width + (long)h * hd, kRow = (long)b * lk * width + (long)h * hd;
                    Stage((byte*)pq + qRow * elem, bf16, lq, width, hd, qs);
                    Stage((byte*)pk + kRow * elem, bf16, lk, width, hd, ks);
                    Transpose(ks, lkPadded, hd, kt);
                    for (int t = 0; t < lk; t++)
                        Buffer.MemoryCopy((byte*)pv + (kRow + (long)t * width) * elem, (byte*)vsrc + (long)t * hd * elem, hd * elem, hd * elem);
                    for (int i0 = 0; i0 < lq; i0 += Rows)
                    {
                        Scores(qs + (long)i0 * hd, kt, hd, lkPadded, scale, scores);
                        for (int r = 0; r < Rows; r++)
                        {
                            float* row = scores + (long)r * lkPadded;
                            for (int t = lk; t < lkPadded; t++) row[t] = float.NegativeInfinity;   // padding keys: weight 0
                            inv[r] = 1f / CpuAttention.SoftmaxNumerators(row, lkPadded);
                        }
                        for (int tile = 0; tile < hd; tile += 32)
                            CpuAttention.Values<R8>(scores, (byte*)vsrc, bf16, lkPadded, hd, tile, inv, outs);
                        for (int r = 0; r < Rows && i0 + r < lq; r++)
                            new Span<float>(outs + (long)r * hd, hd).CopyTo(new Span<float>((float*)po + qRow + (long)(i0 + r) * width, hd));
                    }
                }
            }
            finally { NativeMemory.AlignedFree(scratch); }
        });
        return o;
    }

    /// <summary>The rows of one head (hd values every <paramref name="width"/>) as float32 [rows, hd].</summary>
    static void Stage(byte* src, bool bf16, int rows, int width, int hd, float* dst)
    {
        for (int t = 0; t < rows; t++)
            if (bf16) CpuGemv.Bf16ToFloat((ushort*)src + (long)t * width, dst + (long)t * hd, hd);
            else new Span<float>((float*)src + (long)t * width, hd).CopyTo(new Span<float>(dst + (long)t * hd, hd));
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
    /// scores[r, t] = (q[r] · k[t]) · scale for 8 query rows and every key (a multiple of 32): per 32 keys, 8 × 2 sums in
    /// registers over hd, each step two vectors of kᵀ against 8 broadcast values of q. The stores come after the loop, with
    /// no call in between, so the sums stay in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Scores(float* q, float* kt, int hd, int keys, float scale, float* scores)
    {
        var s = Vector512.Create(scale);
        float* q1 = q + hd, q2 = q + 2 * hd, q3 = q + 3 * hd, q4 = q + 4 * hd, q5 = q + 5 * hd, q6 = q + 6 * hd, q7 = q + 7 * hd;
        for (int t = 0; t < keys; t += Keys)
        {
            Vector512<float> a0 = default, b0 = default, a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default;
            Vector512<float> a4 = default, b4 = default, a5 = default, b5 = default, a6 = default, b6 = default, a7 = default, b7 = default;
            float* col = kt + t;
            for (int d = 0; d < hd; d++, col += keys)
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
}
