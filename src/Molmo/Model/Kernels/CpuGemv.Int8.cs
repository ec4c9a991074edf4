using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Molmo.Model.Kernels;

/// <summary>
/// int8 weights against 16-bit integer activations (AVX-512; AVX2 in <see cref="CpuGemv.Int8Dot16Avx2"/>). Widening int8 to float32 costs three instructions per 16 weights
/// (sign-extend, convert, FMA) and made the int8 kernel compute-bound below DRAM speed; here 32 weights cost a sign-extension
/// to 16 bits and one multiply-add of adjacent pairs (vpmaddwd) into 32-bit integers, and a float conversion and FMA once per
/// <see cref="QBlock"/> columns. x is rounded per block of columns to 16-bit integers scaled by the block's largest magnitude:
/// an error of at most max|x_block| / 65534 per value, finer than x's own bf16 rounding for every value above 1/128 of its
/// block's largest, so an outlier costs precision only within its own block.
/// </summary>
public static unsafe partial class CpuGemv
{
    /// <summary>Columns that share one activation scale. 256 columns add at most 16 products of |q·x| ≤ 127·32767 per 32-bit
    /// lane (6.7e7, far from overflow).</summary>
    internal const int QBlock = 256;

    /// <summary>
    /// x (k float32 values) → q (k int16) and one scale per block: x ≈ q · scale, |q| ≤ 32767, rounded to nearest even. A block
    /// of zeros has scale 0; a block holding NaN or ±∞ gets a NaN scale, so that the outputs it reaches are NaN, as in float.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void QuantizeBlocks(float* x, int k, short* q, float* scales)
    {
        for (int b = 0, bi = 0; b < k; b += QBlock, bi++)
        {
            int end = Math.Min(k, b + QBlock), j = b;
            float max = 0, check = 0;
            if (Avx512F.IsSupported)
            {
                var vmax = Vector512<float>.Zero;
                var nonFinite = Vector512<float>.Zero;    // v − v: 0 for finite values, NaN otherwise
                for (; j + 16 <= end; j += 16)
                {
                    var v = Avx512F.LoadVector512(x + j);
                    vmax = Avx512F.Max(vmax, Vector512.Abs(v));
                    nonFinite += v - v;
                }
                max = MaxLane(vmax);
                check = Vector512.Sum(nonFinite);
            }
            else if (Avx.IsSupported)   // AVX2 machines (int8 and int4)
            {
                var vmax = Vector256<float>.Zero;
                var nonFinite = Vector256<float>.Zero;
                for (; j + 8 <= end; j += 8)
                {
                    var v = Avx.LoadVector256(x + j);
                    vmax = Avx.Max(vmax, Vector256.Abs(v));
                    nonFinite += v - v;
                }
                max = MaxLane(vmax);
                check = Vector256.Sum(nonFinite);
            }
            for (; j < end; j++) { max = MathF.Max(max, MathF.Abs(x[j])); check += x[j] - x[j]; }
            bool finite = check == 0;
            float inv = finite && max > 0 ? 32767f / max : 0f;
            scales[bi] = finite ? max / 32767f : float.NaN;
            // x · inv rounded to nearest even (the conversions' rounding, as MathF.Round below); |x · inv| ≤ 32767.
            j = b;
            if (Avx512F.IsSupported)
            {
                var vinv = Vector512.Create(inv);
                for (; j + 16 <= end; j += 16)
                    Avx.Store(q + j, Avx512F.ConvertToVector256Int16(Avx512F.ConvertToVector512Int32(Avx512F.LoadVector512(x + j) * vinv)));
            }
            else if (Avx.IsSupported)
            {
                var vinv = Vector256.Create(inv);
                for (; j + 16 <= end; j += 16)
                    Avx.Store(q + j, Vector256.Narrow(Avx.ConvertToVector256Int32(Avx.LoadVector256(x + j) * vinv),
                                                      Avx.ConvertToVector256Int32(Avx.LoadVector256(x + j + 8) * vinv)));
            }
            for (; j < end; j++) q[j] = (short)MathF.Round(x[j] * inv, MidpointRounding.ToEven);
        }
    }

    /// <summary>The largest of 16 non-negative lanes (0 when all are 0).</summary>
    internal static float MaxLane(Vector512<float> v) => MathF.Max(MaxLane(v.GetLower()), MaxLane(v.GetUpper()));

    /// <summary>The largest of 8 non-negative lanes (0 when all are 0).</summary>
    internal static float MaxLane(Vector256<float> v)
    {
        float max = 0;
        for (int l = 0; l < 8; l++) max = MathF.Max(max, v.GetElement(l));
        return max;
    }

    /// <summary>
    /// Σ_j w[j]·x[j] for one int8 row against x as 16-bit integers with per-block scales: integer sums per block, each block
    /// converted to float32 and scaled into the accumulator. Lane l of the integer sums holds the columns ≡ 2l, 2l+1 (mod 32),
    /// the block's scalar tail goes into lane 0, and the blocks are scaled in order: <see cref="Int16Block4{TM}"/> does exactly
    /// the same, so both give the same bits. The row is fetched <paramref name="ahead"/> bytes ahead (<see cref="Int8RowPrefetch"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static float Int8Dot16(sbyte* w, short* x, float* scales, int k, int ahead)
    {
        if (!Avx512BW.IsSupported) return Int8Dot16Avx2(w, x, scales, k, ahead);
        var acc = Vector512<float>.Zero;
        for (int b = 0, bi = 0; b < k; b += QBlock, bi++)
        {
            int end = Math.Min(k, b + QBlock), j = b;
            Vector512<int> i0 = default, i1 = default;
            for (; j + 64 <= end; j += 64)
            {
                Sse.Prefetch0(w + j + ahead);
                var v = Avx512BW.LoadVector512(w + j);
                i0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(v.GetLower()), Avx512BW.LoadVector512(x + j));
                i1 += Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(v.GetUpper()), Avx512BW.LoadVector512(x + j + 32));
            }
            for (; j + 32 <= end; j += 32)
                i0 += Avx512BW.MultiplyAddAdjacent(Widen32(w + j), Avx512BW.LoadVector512(x + j));
            acc = Flush(i0 + i1 + Tail(w, x, j, end), scales[bi], acc);
        }
        return Vector512.Sum(acc);
    }

    /// <summary>Whether int8 products take 16-bit x (AVX-512 with AVX512BW, or AVX2 and FMA).</summary>
    static bool Int16Products => Avx512BW.IsSupported || Avx2.IsSupported && Fma.IsSupported;

    /// <summary>
    /// <see cref="Int8Dot16"/> with AVX2: 16 weights sign-extended to 16 bits and multiplied pairwise against x per step, the
    /// block's integer sums (lane l: columns ≡ 2l, 2l+1 mod 16; the scalar tail in lane 0) scaled into the accumulator in
    /// order. Batched steps take <see cref="Int16Block1x4Avx2{TM}"/>, which sums the same integers in the same lanes and
    /// scales them in the same order, so a row gets the same bits alone or in a batch. Widening every weight to float32
    /// instead (the route before) took twice the instructions: batches of 4 and 16 of 7B-D decoded at 5.58 and 7.62 tok/s
    /// against 5.38 for one sequence.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static float Int8Dot16Avx2(sbyte* w, short* x, float* scales, int k, int ahead)
    {
        var acc = Vector256<float>.Zero;
        for (int b = 0, bi = 0; b < k; b += QBlock, bi++)
        {
            int end = Math.Min(k, b + QBlock), j = b;
            Vector256<int> i0 = default, i1 = default;
            for (; j + 32 <= end; j += 32)
            {
                if ((j & 63) == 0) Sse.Prefetch0(w + j + ahead);
                i0 += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(w + j), Avx.LoadVector256(x + j));
                i1 += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(w + j + 16), Avx.LoadVector256(x + j + 16));
            }
            for (; j + 16 <= end; j += 16)
                i0 += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(w + j), Avx.LoadVector256(x + j));
            int tail = 0;
            for (; j < end; j++) tail += w[j] * x[j];
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i0 + i1 + Vector256.CreateScalar(tail)), Vector256.Create(scales[bi]), acc);
        }
        return Vector256.Sum(acc);
    }

    /// <summary>
    /// How far ahead (bytes) a single int8 row is prefetched. The hardware prefetcher alone kept it below the read loop
    /// (`gemv --rows 1`: 43.6–46.2 GB/s without, 47.9–51.0 with; 7B-D decode 5.61 → 6.05 tok/s in alternating rounds;
    /// docs/benchmarks.md, "single rows prefetched"; 2 KB ahead did less, 3 KB about as well).
    /// </summary>
    const int Int8RowPrefetch = 4096;

    /// <summary>Four int8 weight rows (stride <paramref name="k"/>) against <paramref name="count"/> (1–4) 16-bit x rows: d[q·4 + t].</summary>
    static void Int16Block4(sbyte* w, int k, short* x, float* scales, int blocksPerRow, int count, float* d, long wrap)
    {
        switch (count)
        {
            case 1: Int16Block4<R1>(w, k, x, scales, blocksPerRow, d, wrap); break;
            case 2: Int16Block4<R2>(w, k, x, scales, blocksPerRow, d, wrap); break;
            case 3: Int16Block4<R3>(w, k, x, scales, blocksPerRow, d, wrap); break;
            default: Int16Block4<R4>(w, k, x, scales, blocksPerRow, d, wrap); break;
        }
    }

    /// <summary>
    /// The int8 register block: 4 weight rows × up to 4 x rows. Each weight vector is sign-extended once for every x row, each x
    /// load serves all four weight rows, and the 16 integer sums are scaled into float accumulators once per block (which the
    /// JIT may keep in memory: they are touched once per 256 columns). The weight rows are prefetched as in <see cref="Block4{TW}"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static void Int16Block4<TM>(sbyte* w, int k, short* x, float* scales, int blocksPerRow, float* d, long wrap) where TM : struct, IRowCount
    {
        sbyte* w0 = w, w1 = w + k, w2 = w + 2L * k, w3 = w + 3L * k;
        short* x0 = x, x1 = x + k, x2 = x + 2L * k, x3 = x + 3L * k;
        float* s0 = scales, s1 = scales + blocksPerRow, s2 = scales + 2L * blocksPerRow, s3 = scales + 3L * blocksPerRow;
        Vector512<float> f00 = default, f01 = default, f02 = default, f03 = default, f10 = default, f11 = default, f12 = default, f13 = default;
        Vector512<float> f20 = default, f21 = default, f22 = default, f23 = default, f30 = default, f31 = default, f32 = default, f33 = default;
        for (int b = 0, bi = 0; b < k; b += QBlock, bi++)
        {
            int end = Math.Min(k, b + QBlock), j = b;
            Vector512<int> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default;
            Vector512<int> a20 = default, a21 = default, a22 = default, a23 = default, a30 = default, a31 = default, a32 = default, a33 = default;
            for (; j + 32 <= end; j += 32)
            {
                if ((j & 63) == 0) PrefetchBlock((byte*)w, k, j, PrefetchAhead, wrap);
                var c0 = Widen32(w0 + j); var c1 = Widen32(w1 + j); var c2 = Widen32(w2 + j); var c3 = Widen32(w3 + j);
                (a00, a01, a02, a03) = Madd4(Avx512BW.LoadVector512(x0 + j), c0, c1, c2, c3, a00, a01, a02, a03);
                if (TM.N > 1) (a10, a11, a12, a13) = Madd4(Avx512BW.LoadVector512(x1 + j), c0, c1, c2, c3, a10, a11, a12, a13);
                if (TM.N > 2) (a20, a21, a22, a23) = Madd4(Avx512BW.LoadVector512(x2 + j), c0, c1, c2, c3, a20, a21, a22, a23);
                if (TM.N > 3) (a30, a31, a32, a33) = Madd4(Avx512BW.LoadVector512(x3 + j), c0, c1, c2, c3, a30, a31, a32, a33);
            }
            (f00, f01, f02, f03) = Flush4(w0, w1, w2, w3, x0, j, end, s0[bi], a00, a01, a02, a03, f00, f01, f02, f03);
            if (TM.N > 1) (f10, f11, f12, f13) = Flush4(w0, w1, w2, w3, x1, j, end, s1[bi], a10, a11, a12, a13, f10, f11, f12, f13);
            if (TM.N > 2) (f20, f21, f22, f23) = Flush4(w0, w1, w2, w3, x2, j, end, s2[bi], a20, a21, a22, a23, f20, f21, f22, f23);
            if (TM.N > 3) (f30, f31, f32, f33) = Flush4(w0, w1, w2, w3, x3, j, end, s3[bi], a30, a31, a32, a33, f30, f31, f32, f33);
        }
        StoreBlock<TM>(d, f00, f01, f02, f03, f10, f11, f12, f13, f20, f21, f22, f23, f30, f31, f32, f33);
    }

    /// <summary>One int8 weight row, or one packed int4 row (groups of 64, scales <paramref name="ws"/>), against
    /// <paramref name="count"/> (1–4) 16-bit x rows (AVX2: <see cref="Int16Block1x4Avx2{TM}"/>,
    /// <see cref="Int4Block1x4Avx2{TM}"/>): d[q].</summary>
    static void IntBlock1x4Avx2(bool int4, byte* w, int k, short* x, float* xs, int blocksPerRow, float* ws, int count, float* d, int ahead)
    {
        switch (count)
        {
            case 1: if (int4) Int4Block1x4Avx2<R1>(w, k, x, xs, blocksPerRow, ws, d, ahead); else Int16Block1x4Avx2<R1>((sbyte*)w, k, x, xs, blocksPerRow, d, ahead); break;
            case 2: if (int4) Int4Block1x4Avx2<R2>(w, k, x, xs, blocksPerRow, ws, d, ahead); else Int16Block1x4Avx2<R2>((sbyte*)w, k, x, xs, blocksPerRow, d, ahead); break;
            case 3: if (int4) Int4Block1x4Avx2<R3>(w, k, x, xs, blocksPerRow, ws, d, ahead); else Int16Block1x4Avx2<R3>((sbyte*)w, k, x, xs, blocksPerRow, d, ahead); break;
            default: if (int4) Int4Block1x4Avx2<R4>(w, k, x, xs, blocksPerRow, ws, d, ahead); else Int16Block1x4Avx2<R4>((sbyte*)w, k, x, xs, blocksPerRow, d, ahead); break;
        }
    }

    /// <summary>
    /// The AVX2 int8 block for batched steps: 1 weight row × up to 4 x rows. Each 16 weights are sign-extended once for all
    /// x rows (row by row, the extension was a third of the instructions); per x row the integer sums, their lanes, the
    /// scalar tail in lane 0 and the scaling per block of columns are <see cref="Int8Dot16Avx2"/>'s, so each x row gets the
    /// same bits as alone. One weight row at a time (not two, as bf16's <see cref="Bf16Block2x4Avx2{TM, TX}"/>): with x as
    /// memory operands its registers hold the 4 integer and 4 float accumulators, and two rows measured no faster here.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static void Int16Block1x4Avx2<TM>(sbyte* w, int k, short* x, float* scales, int blocksPerRow, float* d, int ahead) where TM : struct, IRowCount
    {
        short* x0 = x, x1 = x + k, x2 = x + 2L * k, x3 = x + 3L * k;
        float* s0 = scales, s1 = scales + blocksPerRow, s2 = scales + 2L * blocksPerRow, s3 = scales + 3L * blocksPerRow;
        Vector256<float> f0 = default, f1 = default, f2 = default, f3 = default;
        for (int b = 0, bi = 0; b < k; b += QBlock, bi++)
        {
            int end = Math.Min(k, b + QBlock), j = b;
            Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; j + 16 <= end; j += 16)
            {
                if ((j & 63) == 0) Sse.Prefetch0(w + j + ahead);
                var c = Avx2.ConvertToVector256Int16(w + j);
                a0 += Avx2.MultiplyAddAdjacent(c, Avx.LoadVector256(x0 + j));
                if (TM.N > 1) a1 += Avx2.MultiplyAddAdjacent(c, Avx.LoadVector256(x1 + j));
                if (TM.N > 2) a2 += Avx2.MultiplyAddAdjacent(c, Avx.LoadVector256(x2 + j));
                if (TM.N > 3) a3 += Avx2.MultiplyAddAdjacent(c, Avx.LoadVector256(x3 + j));
            }
            f0 = FlushAvx2(w, x0, j, end, s0[bi], a0, f0);
            if (TM.N > 1) f1 = FlushAvx2(w, x1, j, end, s1[bi], a1, f1);
            if (TM.N > 2) f2 = FlushAvx2(w, x2, j, end, s2[bi], a2, f2);
            if (TM.N > 3) f3 = FlushAvx2(w, x3, j, end, s3[bi], a3, f3);
        }
        d[0] = Vector256.Sum(f0);
        if (TM.N > 1) d[1] = Vector256.Sum(f1);
        if (TM.N > 2) d[2] = Vector256.Sum(f2);
        if (TM.N > 3) d[3] = Vector256.Sum(f3);
    }

    /// <summary>One block's integer sums of an x row, with the scalar tail [from, end) in lane 0, into its float accumulator
    /// (AVX2): acc + float(sums) · scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> FlushAvx2(sbyte* w, short* x, int from, int end, float scale, Vector256<int> sums, Vector256<float> acc)
    {
        int tail = 0;
        for (int j = from; j < end; j++) tail += w[j] * x[j];
        return Fma.MultiplyAdd(Avx.ConvertToVector256Single(sums + Vector256.CreateScalar(tail)), Vector256.Create(scale), acc);
    }

    /// <summary>32 int8 weights sign-extended to 16 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<short> Widen32(sbyte* p) => Avx512BW.ConvertToVector512Int16(Avx.LoadVector256(p));

    /// <summary>The columns [from, end) that do not fill a 32-column vector, as an integer sum in lane 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<int> Tail(sbyte* w, short* x, int from, int end)
    {
        int s = 0;
        for (int j = from; j < end; j++) s += w[j] * x[j];
        return Vector512.CreateScalar(s);
    }

    /// <summary>One block's integer sums into the float accumulator: acc + float(sums) · scale.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> Flush(Vector512<int> sums, float scale, Vector512<float> acc) =>
        Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sums), Vector512.Create(scale), acc);

    /// <summary>Four weight rows' block sums against one x row (with their scalar tails) into their float accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector512<float>, Vector512<float>, Vector512<float>, Vector512<float>) Flush4(sbyte* w0, sbyte* w1, sbyte* w2, sbyte* w3,
        short* x, int from, int end, float scale, Vector512<int> a0, Vector512<int> a1, Vector512<int> a2, Vector512<int> a3,
        Vector512<float> f0, Vector512<float> f1, Vector512<float> f2, Vector512<float> f3) =>
        (Flush(a0 + Tail(w0, x, from, end), scale, f0), Flush(a1 + Tail(w1, x, from, end), scale, f1),
         Flush(a2 + Tail(w2, x, from, end), scale, f2), Flush(a3 + Tail(w3, x, from, end), scale, f3));

    /// <summary>One x vector against four sign-extended weight vectors: pairwise products added into four integer accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector512<int>, Vector512<int>, Vector512<int>, Vector512<int>) Madd4(Vector512<short> x,
        Vector512<short> c0, Vector512<short> c1, Vector512<short> c2, Vector512<short> c3,
        Vector512<int> a0, Vector512<int> a1, Vector512<int> a2, Vector512<int> a3) =>
        (a0 + Avx512BW.MultiplyAddAdjacent(c0, x), a1 + Avx512BW.MultiplyAddAdjacent(c1, x),
         a2 + Avx512BW.MultiplyAddAdjacent(c2, x), a3 + Avx512BW.MultiplyAddAdjacent(c3, x));
}
