using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static TorchSharp.torch;

namespace Molmo.Model.Kernels;

/// <summary>
/// int4 weights (<see cref="Int4Quantizer"/>: two a byte, a float32 scale per 64 columns) against x as 16-bit integers with
/// per-block scales, as int8's products (CpuGemv.Int8.cs). A 64-byte load of a row is 128 weights, two whole groups: its low
/// nibbles are the first group and its high nibbles the second, each taken out as 16-bit values by shifts
/// (<see cref="Int4Words"/>) and multiplied pairwise into 32-bit sums against x (vpmaddwd), then converted and scaled by
/// the group's scale, and each 256-column block by x's. Without AVX-512, AVX2 does the same in two 32-byte halves
/// (<see cref="Int4Dot16Avx2"/>): the same integer sums in the same lanes, so the same bits per lane before the final sum.
/// </summary>
public static unsafe partial class CpuGemv
{
    /// <summary>Whether int4 weights have a kernel here: AVX-512 with byte and word instructions (AVX512BW), or AVX2 and FMA
    /// (most desktop and laptop x86 CPUs, which lack AVX-512).</summary>
    public static bool SupportsInt4 => Avx512BW.IsSupported || Avx2.IsSupported && Fma.IsSupported;

    /// <summary>Whether the int4 kernel takes its AVX-512 route (four-row register blocks for batched steps included).</summary>
    static bool Int4Avx512 => Avx512BW.IsSupported;

    /// <summary>x [..., K] (bf16 or float32) times packed int4 weight [N, K/2] with scales [N, K/G] (+ bias [N]) → [..., N]
    /// in x's dtype (needs <see cref="SupportsInt4"/>).</summary>
    public static Tensor LinearInt4(Tensor x, Tensor packed, Tensor scales, Tensor? bias)
    {
        if (!SupportsInt4) throw new PlatformNotSupportedException("the int4 kernel needs AVX-512 (AVX512BW) or AVX2 and FMA");
        long n = packed.shape[0], k = packed.shape[1] * 2;
        if (!scales.shape.SequenceEqual(new[] { n, k / Int4Quantizer.GroupSize(k) }) || scales.dtype != ScalarType.Float32)
            throw new ArgumentException($"int4 weight [{n}, {k / 2}] needs float32 scales [{n}, {k / Int4Quantizer.GroupSize(k)}], got {scales.dtype} [{string.Join(", ", scales.shape)}]");
        return Linear(x, packed, bias, scales, Weights.Int4);
    }

    /// <summary>
    /// One group of a 64-byte chunk (<paramref name="half"/> 0: columns 0–63, its low nibbles; 1: columns 64–127, its high
    /// ones) as 16-bit values, without shuffles: read as 32 words, word i holds bytes 2i and 2i + 1, so two shifts each give
    /// the group's even columns (byte 2i) and odd columns (byte 2i + 1) in word lanes, sign-extended, which the kernels
    /// multiply against x rearranged to match (<see cref="Int4ArrangeX"/>). Sign-extending bytes to words instead took two
    /// lane-crossing shuffles per 32 weights (batched blocks 20–30 % slower), and nibbles stored as q + 8 took a mask and a
    /// subtraction each.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector512<short> Even, Vector512<short> Odd) Int4Words(byte* p, int half) => Int4Words(Avx512BW.LoadVector512((short*)p), half);

    /// <summary><see cref="Int4Words(byte*, int)"/> of a chunk already loaded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector512<short> Even, Vector512<short> Odd) Int4Words(Vector512<short> w, int half)
    {
        // Each 4-bit two's complement value moved to the top of its word, then shifted arithmetically back down.
        return half == 0
            ? (Avx512BW.ShiftRightArithmetic(Avx512BW.ShiftLeftLogical(w, 12), 12), Avx512BW.ShiftRightArithmetic(Avx512BW.ShiftLeftLogical(w, 4), 12))
            : (Avx512BW.ShiftRightArithmetic(Avx512BW.ShiftLeftLogical(w, 8), 12), Avx512BW.ShiftRightArithmetic(w, 12));
    }

    /// <summary><see cref="Int4Words(Vector512{short}, int)"/> for a 32-byte half of a chunk (AVX2): 16 words, the same shifts.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector256<short> Even, Vector256<short> Odd) Int4Words(Vector256<short> w, int half) =>
        half == 0
            ? (Avx2.ShiftRightArithmetic(Avx2.ShiftLeftLogical(w, 12), 12), Avx2.ShiftRightArithmetic(Avx2.ShiftLeftLogical(w, 4), 12))
            : (Avx2.ShiftRightArithmetic(Avx2.ShiftLeftLogical(w, 8), 12), Avx2.ShiftRightArithmetic(w, 12));

    /// <summary>
    /// x's 16-bit values rearranged for <see cref="Int4Words"/>, in place, per chunk of 128 columns: the first group's even
    /// columns, its odd columns, then the second group's even and odd columns (32 each). Per decode step this runs once per
    /// product and x row: two-source word permutes, four per chunk (without AVX-512, a scalar loop).
    /// </summary>
    internal static void Int4ArrangeX(short* x, int k)
    {
        if (!Int4Avx512)
        {
            var copy = stackalloc short[64];
            for (int g = 0; g < k; g += 64)
            {
                for (int j = 0; j < 64; j++) copy[j] = x[g + j];
                for (int j = 0; j < 32; j++) { x[g + j] = copy[2 * j]; x[g + 32 + j] = copy[2 * j + 1]; }
            }
            return;
        }
        var even = Vector512.Create((short)0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30,
                                    32, 34, 36, 38, 40, 42, 44, 46, 48, 50, 52, 54, 56, 58, 60, 62);
        var odd = even + Vector512<short>.One;
        for (int c = 0; c < k; c += 128)
            for (int h = 0; h < 2; h++)
            {
                short* g = x + c + 64 * h;
                var lo = Avx512BW.LoadVector512(g);
                var hi = Avx512BW.LoadVector512(g + 32);
                Avx512BW.Store(g, Avx512BW.PermuteVar32x16x2(lo, even, hi));
                Avx512BW.Store(g + 32, Avx512BW.PermuteVar32x16x2(lo, odd, hi));
            }
    }

    /// <summary>
    /// Σ_j W[j]·x[j] for one packed int4 row of <paramref name="k"/> columns against x as 16-bit integers (for groups of 64,
    /// arranged by <see cref="Int4ArrangeX"/>) with per-block scales <paramref name="xs"/>, the row's group scales
    /// <paramref name="ws"/>: per 256-column block of x, each group's integer sums converted and times its weight scale, in
    /// column order; then the blocks, in order, times x's scales. <see cref="Int4Block4{TM}"/> does exactly the same per row,
    /// so both give the same bits. The row is fetched <paramref name="ahead"/> bytes ahead. Groups of fewer than 64 columns
    /// (small test models) take a scalar loop (each group times its weight scale and x's). <paramref name="g"/>: the group size
    /// (<see cref="Int4Quantizer.GroupSize"/> of k, worked out once per product, not per row).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static float Int4Dot16(byte* w, int k, int g, short* x, float* xs, float* ws, int ahead)
    {
        if (g != 64)
        {
            // Chunk c's bytes hold group 2c in their low nibbles and group 2c + 1 in their high ones.
            float s = 0;
            for (int c0 = 0; c0 < k; c0 += 2 * g)
            {
                byte* bytes = w + c0 / 2;
                int low = 0, high = 0;
                for (int j = 0; j < g; j++)
                {
                    low += (((bytes[j] & 15) ^ 8) - 8) * x[c0 + j];
                    high += (((bytes[j] >> 4) ^ 8) - 8) * x[c0 + g + j];
                }
                s += low * (ws[c0 / g] * xs[c0 / QBlock]);
                s += high * (ws[c0 / g + 1] * xs[(c0 + g) / QBlock]);
            }
            return s;
        }
        if (!Int4Avx512) return Int4Dot16Avx2(w, k, x, xs, ws, ahead);
        // Four blocks of x's columns at a time, each with its own accumulator: one block's sums are a chain of FMAs (one per
        // group), which alone bound a row at about 8 cycles per 64 bytes; four chains interleaved keep the FMA units busy.
        // The blocks are still added into acc one by one, in order, as the batched blocks do.
        var acc = Vector512<float>.Zero;
        int b = 0;
        for (; b + 4 * QBlock <= k; b += 4 * QBlock)
        {
            Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
            for (int c = b; c < b + QBlock; c += 128)
            {
                byte* next = w + c / 2 + ahead;
                Sse.Prefetch0(next); Sse.Prefetch0(next + QBlock / 2); Sse.Prefetch0(next + QBlock); Sse.Prefetch0(next + 3 * QBlock / 2);
                b0 = Int4Chunk(w, x, ws, c, b0);
                b1 = Int4Chunk(w, x, ws, c + QBlock, b1);
                b2 = Int4Chunk(w, x, ws, c + 2 * QBlock, b2);
                b3 = Int4Chunk(w, x, ws, c + 3 * QBlock, b3);
            }
            acc = Avx512F.FusedMultiplyAdd(b0, Vector512.Create(xs[b / QBlock]), acc);
            acc = Avx512F.FusedMultiplyAdd(b1, Vector512.Create(xs[b / QBlock + 1]), acc);
            acc = Avx512F.FusedMultiplyAdd(b2, Vector512.Create(xs[b / QBlock + 2]), acc);
            acc = Avx512F.FusedMultiplyAdd(b3, Vector512.Create(xs[b / QBlock + 3]), acc);
        }
        for (; b < k; b += QBlock)
        {
            var block = Vector512<float>.Zero;
            for (int c = b; c < Math.Min(k, b + QBlock); c += 128)
            {
                Sse.Prefetch0(w + c / 2 + ahead);
                block = Int4Chunk(w, x, ws, c, block);
            }
            acc = Avx512F.FusedMultiplyAdd(block, Vector512.Create(xs[b / QBlock]), acc);
        }
        return Vector512.Sum(acc);
    }

    /// <summary>The chunk of 128 columns at <paramref name="c"/> (two groups) into a block's accumulator: each group's sums
    /// converted and times its weight scale, the first group first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> Int4Chunk(byte* w, short* x, float* ws, int c, Vector512<float> block)
    {
        var words = Avx512BW.LoadVector512((short*)(w + c / 2));
        var (e0, o0) = Int4Words(words, 0);
        var (e1, o1) = Int4Words(words, 1);
        var i0 = Avx512BW.MultiplyAddAdjacent(e0, Avx512BW.LoadVector512(x + c)) + Avx512BW.MultiplyAddAdjacent(o0, Avx512BW.LoadVector512(x + c + 32));
        var i1 = Avx512BW.MultiplyAddAdjacent(e1, Avx512BW.LoadVector512(x + c + 64)) + Avx512BW.MultiplyAddAdjacent(o1, Avx512BW.LoadVector512(x + c + 96));
        block = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(i0), Vector512.Create(ws[c / 64]), block);
        return Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(i1), Vector512.Create(ws[c / 64 + 1]), block);
    }

    /// <summary>
    /// <see cref="Int4Dot16"/> (groups of 64) with AVX2: each 64-byte chunk as two 32-byte halves, the first holding columns
    /// 0–31 and 64–95 of the chunk, the second 32–63 and 96–127 (byte j: column j low, 64 + j high). Their words sign-extend
    /// by the same shifts, and their products against x rearranged by <see cref="Int4ArrangeX"/> give lanes 0–7 and 8–15 of
    /// the AVX-512 route's integer sums, which are scaled by the group's scale into a low and a high accumulator. Two blocks
    /// of x's columns are interleaved (four FMA chains), and the blocks are added into the totals in order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static float Int4Dot16Avx2(byte* w, int k, short* x, float* xs, float* ws, int ahead)
    {
        Vector256<float> lo = default, hi = default;
        int b = 0;
        for (; b + 2 * QBlock <= k; b += 2 * QBlock)
        {
            Vector256<float> lo0 = default, hi0 = default, lo1 = default, hi1 = default;
            for (int c = b; c < b + QBlock; c += 128)
            {
                byte* next = w + c / 2 + ahead;
                Sse.Prefetch0(next); Sse.Prefetch0(next + QBlock / 2);
                (lo0, hi0) = Int4ChunkAvx2(w, x, ws, c, lo0, hi0);
                (lo1, hi1) = Int4ChunkAvx2(w, x, ws, c + QBlock, lo1, hi1);
            }
            var s0 = Vector256.Create(xs[b / QBlock]);
            var s1 = Vector256.Create(xs[b / QBlock + 1]);
            lo = Fma.MultiplyAdd(lo0, s0, lo); hi = Fma.MultiplyAdd(hi0, s0, hi);
            lo = Fma.MultiplyAdd(lo1, s1, lo); hi = Fma.MultiplyAdd(hi1, s1, hi);
        }
        for (; b < k; b += QBlock)
        {
            Vector256<float> lo0 = default, hi0 = default;
            for (int c = b; c < Math.Min(k, b + QBlock); c += 128)
            {
                Sse.Prefetch0(w + c / 2 + ahead);
                (lo0, hi0) = Int4ChunkAvx2(w, x, ws, c, lo0, hi0);
            }
            var s0 = Vector256.Create(xs[b / QBlock]);
            lo = Fma.MultiplyAdd(lo0, s0, lo); hi = Fma.MultiplyAdd(hi0, s0, hi);
        }
        return Vector256.Sum(lo + hi);
    }

    /// <summary>The chunk of 128 columns at <paramref name="c"/> into a block's low and high accumulators (AVX2; see
    /// <see cref="Int4Dot16Avx2"/>): the first group times its scale, then the second.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector256<float> Lo, Vector256<float> Hi) Int4ChunkAvx2(byte* w, short* x, float* ws, int c, Vector256<float> lo, Vector256<float> hi)
    {
        var a = Avx.LoadVector256((short*)(w + c / 2));
        var b = Avx.LoadVector256((short*)(w + c / 2 + 32));
        short* xc = x + c;
        // x per group: its 32 even columns, then its 32 odd ones; a's words hold columns 0–31 of each group, b's 32–63.
        var (e0a, o0a) = Int4Words(a, 0); var (e1a, o1a) = Int4Words(a, 1);
        var (e0b, o0b) = Int4Words(b, 0); var (e1b, o1b) = Int4Words(b, 1);
        var g0a = Avx2.MultiplyAddAdjacent(e0a, Avx.LoadVector256(xc)) + Avx2.MultiplyAddAdjacent(o0a, Avx.LoadVector256(xc + 32));
        var g0b = Avx2.MultiplyAddAdjacent(e0b, Avx.LoadVector256(xc + 16)) + Avx2.MultiplyAddAdjacent(o0b, Avx.LoadVector256(xc + 48));
        var g1a = Avx2.MultiplyAddAdjacent(e1a, Avx.LoadVector256(xc + 64)) + Avx2.MultiplyAddAdjacent(o1a, Avx.LoadVector256(xc + 96));
        var g1b = Avx2.MultiplyAddAdjacent(e1b, Avx.LoadVector256(xc + 80)) + Avx2.MultiplyAddAdjacent(o1b, Avx.LoadVector256(xc + 112));
        var s0 = Vector256.Create(ws[c / 64]);
        var s1 = Vector256.Create(ws[c / 64 + 1]);
        lo = Fma.MultiplyAdd(Avx.ConvertToVector256Single(g0a), s0, lo);
        hi = Fma.MultiplyAdd(Avx.ConvertToVector256Single(g0b), s0, hi);
        return (Fma.MultiplyAdd(Avx.ConvertToVector256Single(g1a), s1, lo), Fma.MultiplyAdd(Avx.ConvertToVector256Single(g1b), s1, hi));
    }

    /// <summary>
    /// The AVX2 int4 block for batched steps: 1 weight row × up to 4 x rows. Each group's nibbles are sign-extended once for
    /// all x rows (the shifts were 40 % of a row's instructions); per x row the integer sums, their lanes and the float
    /// accumulation (each group times its scale into the block's low and high accumulators, each block times x's scale into
    /// the totals, in order) are <see cref="Int4Dot16Avx2"/>'s, so each x row gets the same bits as alone. 16 registers hold
    /// one group's four word vectors and the 8 block accumulators; the totals, touched once per 256 columns, may live in
    /// memory.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static void Int4Block1x4Avx2<TM>(byte* w, int k, short* x, float* xs, int blocksPerRow, float* ws, float* d, int ahead) where TM : struct, IRowCount
    {
        var total = stackalloc Vector256<float>[8];   // x row q: total[2q] (low lanes), total[2q + 1] (high lanes)
        for (int i = 0; i < 8; i++) total[i] = default;
        for (int b = 0; b < k; b += QBlock)
        {
            Vector256<float> l0 = default, h0 = default, l1 = default, h1 = default, l2 = default, h2 = default, l3 = default, h3 = default;
            for (int c = b; c < Math.Min(k, b + QBlock); c += 128)
            {
                Sse.Prefetch0(w + c / 2 + ahead);
                var lower = Avx.LoadVector256((short*)(w + c / 2));
                var upper = Avx.LoadVector256((short*)(w + c / 2 + 32));
                for (int half = 0; half < 2; half++)
                {
                    // As in Int4ChunkAvx2: x per group is its 32 even columns, then its 32 odd ones; the lower 32 bytes'
                    // words hold columns 0–31 of the group, the upper's 32–63.
                    var (ea, oa) = Int4Words(lower, half);
                    var (eb, ob) = Int4Words(upper, half);
                    var s = Vector256.Create(ws[c / 64 + half]);
                    short* xg = x + c + 64 * half;
                    (l0, h0) = Int4GroupAvx2(xg, ea, oa, eb, ob, s, l0, h0);
                    if (TM.N > 1) (l1, h1) = Int4GroupAvx2(xg + k, ea, oa, eb, ob, s, l1, h1);
                    if (TM.N > 2) (l2, h2) = Int4GroupAvx2(xg + 2L * k, ea, oa, eb, ob, s, l2, h2);
                    if (TM.N > 3) (l3, h3) = Int4GroupAvx2(xg + 3L * k, ea, oa, eb, ob, s, l3, h3);
                }
            }
            int bi = b / QBlock;
            TotalAvx2(total, xs[bi], l0, h0);
            if (TM.N > 1) TotalAvx2(total + 2, xs[blocksPerRow + bi], l1, h1);
            if (TM.N > 2) TotalAvx2(total + 4, xs[2 * blocksPerRow + bi], l2, h2);
            if (TM.N > 3) TotalAvx2(total + 6, xs[3 * blocksPerRow + bi], l3, h3);
        }
        for (int q = 0; q < TM.N; q++) d[q] = Vector256.Sum(total[2 * q] + total[2 * q + 1]);
    }

    /// <summary>One group (its even and odd columns' words of the lower and upper halves, scale s) against one x row's 64
    /// columns at <paramref name="x"/> into its low and high accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector256<float>, Vector256<float>) Int4GroupAvx2(short* x, Vector256<short> ea, Vector256<short> oa, Vector256<short> eb, Vector256<short> ob,
        Vector256<float> s, Vector256<float> lo, Vector256<float> hi)
    {
        var ga = Avx2.MultiplyAddAdjacent(ea, Avx.LoadVector256(x)) + Avx2.MultiplyAddAdjacent(oa, Avx.LoadVector256(x + 32));
        var gb = Avx2.MultiplyAddAdjacent(eb, Avx.LoadVector256(x + 16)) + Avx2.MultiplyAddAdjacent(ob, Avx.LoadVector256(x + 48));
        return (Fma.MultiplyAdd(Avx.ConvertToVector256Single(ga), s, lo), Fma.MultiplyAdd(Avx.ConvertToVector256Single(gb), s, hi));
    }

    /// <summary>A block's low and high accumulators of one x row into its totals, times x's scale for the block (AVX2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void TotalAvx2(Vector256<float>* total, float xb, Vector256<float> lo, Vector256<float> hi)
    {
        var v = Vector256.Create(xb);
        total[0] = Fma.MultiplyAdd(lo, v, total[0]);
        total[1] = Fma.MultiplyAdd(hi, v, total[1]);
    }

    /// <summary>How far ahead (bytes) a single int4 row is prefetched (int8's distance, <see cref="Int8RowPrefetch"/>).</summary>
    const int Int4RowPrefetch = 4096;

    /// <summary>Four packed int4 rows (<paramref name="rowBytes"/> apart) against <paramref name="count"/> (1–4) 16-bit x rows: d[q·4 + t].</summary>
    static void Int4Block4(byte* w, long rowBytes, int k, short* x, float* xs, int blocksPerRow, float* ws, int groupsPerRow, int count, float* d, long wrap)
    {
        switch (count)
        {
            case 1: Int4Block4<R1>(w, rowBytes, k, x, xs, blocksPerRow, ws, groupsPerRow, d, wrap); break;
            case 2: Int4Block4<R2>(w, rowBytes, k, x, xs, blocksPerRow, ws, groupsPerRow, d, wrap); break;
            case 3: Int4Block4<R3>(w, rowBytes, k, x, xs, blocksPerRow, ws, groupsPerRow, d, wrap); break;
            default: Int4Block4<R4>(w, rowBytes, k, x, xs, blocksPerRow, ws, groupsPerRow, d, wrap); break;
        }
    }

    /// <summary>
    /// The int4 register block for batched steps (groups of 64): 4 weight rows × up to 4 x rows. Each group of the four rows
    /// is unpacked and sign-extended once for all x rows, and each x load serves all four weight rows; per (row, x row) the
    /// arithmetic is <see cref="Int4Dot16"/>'s, in the same order. The weight rows are prefetched as the other blocks do.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static void Int4Block4<TM>(byte* w, long rowBytes, int k, short* x, float* xs, int blocksPerRow, float* ws, int groupsPerRow, float* d, long wrap) where TM : struct, IRowCount
    {
        byte* w0 = w, w1 = w + rowBytes, w2 = w + 2 * rowBytes, w3 = w + 3 * rowBytes;
        float* g0 = ws, g1 = ws + groupsPerRow, g2 = ws + 2L * groupsPerRow, g3 = ws + 3L * groupsPerRow;
        // The totals, touched once per block of x's columns, live in memory; the block's sums in registers.
        var total = stackalloc Vector512<float>[16];
        for (int i = 0; i < 16; i++) total[i] = default;
        for (int b = 0; b < k; b += QBlock)
        {
            Vector512<float> f00 = default, f01 = default, f02 = default, f03 = default, f10 = default, f11 = default, f12 = default, f13 = default;
            Vector512<float> f20 = default, f21 = default, f22 = default, f23 = default, f30 = default, f31 = default, f32 = default, f33 = default;
            for (int c = b; c < Math.Min(k, b + QBlock); c += 128)
            {
                PrefetchBlock(w, rowBytes, c / 2, PrefetchAhead, wrap);
                for (int half = 0; half < 2; half++)
                {
                    int gi = c / 64 + half, col = c + 64 * half;
                    var (a0, b0) = Int4Words(w0 + c / 2, half); var (a1, b1) = Int4Words(w1 + c / 2, half);
                    var (a2, b2) = Int4Words(w2 + c / 2, half); var (a3, b3) = Int4Words(w3 + c / 2, half);
                    // Each weight row's group scale broadcast once for all x rows.
                    var s0 = Vector512.Create(g0[gi]); var s1 = Vector512.Create(g1[gi]);
                    var s2 = Vector512.Create(g2[gi]); var s3 = Vector512.Create(g3[gi]);
                    (f00, f01, f02, f03) = Group4(x + col, a0, b0, a1, b1, a2, b2, a3, b3, s0, s1, s2, s3, f00, f01, f02, f03);
                    if (TM.N > 1) (f10, f11, f12, f13) = Group4(x + k + col, a0, b0, a1, b1, a2, b2, a3, b3, s0, s1, s2, s3, f10, f11, f12, f13);
                    if (TM.N > 2) (f20, f21, f22, f23) = Group4(x + 2L * k + col, a0, b0, a1, b1, a2, b2, a3, b3, s0, s1, s2, s3, f20, f21, f22, f23);
                    if (TM.N > 3) (f30, f31, f32, f33) = Group4(x + 3L * k + col, a0, b0, a1, b1, a2, b2, a3, b3, s0, s1, s2, s3, f30, f31, f32, f33);
                }
            }
            int bi = b / QBlock;
            Total4(total, xs[bi], f00, f01, f02, f03);
            if (TM.N > 1) Total4(total + 4, xs[blocksPerRow + bi], f10, f11, f12, f13);
            if (TM.N > 2) Total4(total + 8, xs[2 * blocksPerRow + bi], f20, f21, f22, f23);
            if (TM.N > 3) Total4(total + 12, xs[3 * blocksPerRow + bi], f30, f31, f32, f33);
        }
        StoreBlock<TM>(d, total[0], total[1], total[2], total[3], total[4], total[5], total[6], total[7],
                       total[8], total[9], total[10], total[11], total[12], total[13], total[14], total[15]);
    }

    /// <summary>Four accumulators of one block of x's columns into their totals, times x's scale for the block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Total4(Vector512<float>* total, float xb, Vector512<float> f0, Vector512<float> f1, Vector512<float> f2, Vector512<float> f3)
    {
        var v = Vector512.Create(xb);
        total[0] = Avx512F.FusedMultiplyAdd(f0, v, total[0]); total[1] = Avx512F.FusedMultiplyAdd(f1, v, total[1]);
        total[2] = Avx512F.FusedMultiplyAdd(f2, v, total[2]); total[3] = Avx512F.FusedMultiplyAdd(f3, v, total[3]);
    }

    /// <summary>One group of four weight rows (even and odd columns a, b, see <see cref="Int4Words"/>; scales s0…s3) against one x row's 64 columns at
    /// <paramref name="x"/> into its four float accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector512<float>, Vector512<float>, Vector512<float>, Vector512<float>) Group4(short* x,
        Vector512<short> a0, Vector512<short> b0, Vector512<short> a1, Vector512<short> b1,
        Vector512<short> a2, Vector512<short> b2, Vector512<short> a3, Vector512<short> b3,
        Vector512<float> s0, Vector512<float> s1, Vector512<float> s2, Vector512<float> s3,
        Vector512<float> f0, Vector512<float> f1, Vector512<float> f2, Vector512<float> f3)
    {
        var lo = Avx512BW.LoadVector512(x);
        var hi = Avx512BW.LoadVector512(x + 32);
        return (Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(a0, lo) + Avx512BW.MultiplyAddAdjacent(b0, hi)), s0, f0),
                Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(a1, lo) + Avx512BW.MultiplyAddAdjacent(b1, hi)), s1, f1),
                Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(a2, lo) + Avx512BW.MultiplyAddAdjacent(b2, hi)), s2, f2),
                Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(a3, lo) + Avx512BW.MultiplyAddAdjacent(b3, hi)), s3, f3));
    }
}
