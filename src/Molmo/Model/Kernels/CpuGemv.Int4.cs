using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static TorchSharp.torch;

namespace Molmo.Model.Kernels;

/// <summary>
/// int4 weights (<see cref="Int4Quantizer"/>: two a byte, a float32 scale per 64 columns) against x as 16-bit integers with
/// per-block scales, as int8's products (CpuGemv.Int8.cs). A 64-byte load of a row is 128 weights, two whole groups: its low
/// nibbles are the first group and its high nibbles the second, each sign-extended to 16 bits in two halves and multiplied
/// pairwise into 32-bit sums against x (vpmaddwd), then converted and scaled into the float accumulator once per group.
/// </summary>
public static unsafe partial class CpuGemv
{
    /// <summary>Whether int4 weights have a kernel here: AVX-512 with byte and word instructions (AVX512BW).</summary>
    public static bool SupportsInt4 => Avx512BW.IsSupported;

    /// <summary>x [..., K] (bf16 or float32) times packed int4 weight [N, K/2] with scales [N, K/G] (+ bias [N]) → [..., N]
    /// in x's dtype (needs <see cref="SupportsInt4"/>).</summary>
    public static Tensor LinearInt4(Tensor x, Tensor packed, Tensor scales, Tensor? bias)
    {
        if (!SupportsInt4) throw new PlatformNotSupportedException("the int4 kernel needs AVX-512 (AVX512BW)");
        long n = packed.shape[0], k = packed.shape[1] * 2;
        if (!scales.shape.SequenceEqual(new[] { n, k / Int4Quantizer.GroupSize(k) }) || scales.dtype != ScalarType.Float32)
            throw new ArgumentException($"int4 weight [{n}, {k / 2}] needs float32 scales [{n}, {k / Int4Quantizer.GroupSize(k)}], got {scales.dtype} [{string.Join(", ", scales.shape)}]");
        return Linear(x, packed, bias, scales, Weights.Int4);
    }

    /// <summary>A 64-byte load of packed int4 weights → its low nibbles and its high nibbles as signed values (nibble − 8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (Vector512<sbyte> Low, Vector512<sbyte> High) Int4Unpack(Vector512<byte> v)
    {
        var nibble = Vector512.Create((byte)0x0F);
        var eight = Vector512.Create((sbyte)8);
        // No byte shift in AVX-512: shift the 16-bit words, and the mask drops what came in from the neighbouring byte.
        var high = Avx512BW.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & nibble;
        return ((v & nibble).AsSByte() - eight, high.AsSByte() - eight);
    }

    /// <summary>One group of 64 quantised weights against 64 16-bit x values: 16 lanes of 32-bit sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<int> Int4Madd64(Vector512<sbyte> q, short* x) =>
        Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(q.GetLower()), Avx512BW.LoadVector512(x))
        + Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(q.GetUpper()), Avx512BW.LoadVector512(x + 32));

    /// <summary>
    /// Σ_j W[j]·x[j] for one packed int4 row of <paramref name="k"/> columns against x as 16-bit integers with per-block scales
    /// <paramref name="xs"/>, the row's group scales <paramref name="ws"/>: each group's integer sums converted, scaled by
    /// (its scale × x's block scale) and added to the accumulator, groups in column order. <see cref="Int4Block4{TM}"/> does
    /// exactly the same per row, so both give the same bits. The row is fetched <paramref name="ahead"/> bytes ahead.
    /// Groups of fewer than 64 columns (small test models) take a scalar loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static float Int4Dot16(byte* w, int k, short* x, float* xs, float* ws, int ahead)
    {
        int g = Int4Quantizer.GroupSize(k);
        if (g != 64)
        {
            float s = 0;
            for (int c0 = 0, gi = 0; c0 < k; c0 += g, gi++)
            {
                int sum = 0;
                for (int j = c0; j < c0 + g; j++) sum += Int4Quantizer.At(w, j, g) * x[j];
                s += sum * (ws[gi] * xs[c0 / QBlock]);
            }
            return s;
        }
        var acc = Vector512<float>.Zero;
        for (int b = 0; b < k; b += QBlock)
        {
            // A block of x's columns (one x scale): its groups' sums, each times its weight scale, then the block times x's.
            var block = Vector512<float>.Zero;
            for (int c = b; c < Math.Min(k, b + QBlock); c += 128)
            {
                Sse.Prefetch0(w + c / 2 + ahead);
                var (low, high) = Int4Unpack(Avx512BW.LoadVector512(w + c / 2));
                block = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Int4Madd64(low, x + c)), Vector512.Create(ws[c / 64]), block);
                block = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Int4Madd64(high, x + c + 64)), Vector512.Create(ws[c / 64 + 1]), block);
            }
            acc = Avx512F.FusedMultiplyAdd(block, Vector512.Create(xs[b / QBlock]), acc);
        }
        return Vector512.Sum(acc);
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
                    var q0 = Nibbles(w0 + c / 2, half); var q1 = Nibbles(w1 + c / 2, half);
                    var q2 = Nibbles(w2 + c / 2, half); var q3 = Nibbles(w3 + c / 2, half);
                    Vector512<short> a0 = Avx512BW.ConvertToVector512Int16(q0.GetLower()), b0 = Avx512BW.ConvertToVector512Int16(q0.GetUpper());
                    Vector512<short> a1 = Avx512BW.ConvertToVector512Int16(q1.GetLower()), b1 = Avx512BW.ConvertToVector512Int16(q1.GetUpper());
                    Vector512<short> a2 = Avx512BW.ConvertToVector512Int16(q2.GetLower()), b2 = Avx512BW.ConvertToVector512Int16(q2.GetUpper());
                    Vector512<short> a3 = Avx512BW.ConvertToVector512Int16(q3.GetLower()), b3 = Avx512BW.ConvertToVector512Int16(q3.GetUpper());
                    float s0 = g0[gi], s1 = g1[gi], s2 = g2[gi], s3 = g3[gi];
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

    /// <summary>The low (half 0) or high (half 1) nibbles of the 64 bytes at <paramref name="p"/>, as signed values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<sbyte> Nibbles(byte* p, int half)
    {
        var (low, high) = Int4Unpack(Avx512BW.LoadVector512(p));
        return half == 0 ? low : high;
    }

    /// <summary>One group of four weight rows (sign-extended halves a, b; scales s0…s3) against one x row's 64 columns at
    /// <paramref name="x"/> into its four float accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector512<float>, Vector512<float>, Vector512<float>, Vector512<float>) Group4(short* x,
        Vector512<short> a0, Vector512<short> b0, Vector512<short> a1, Vector512<short> b1,
        Vector512<short> a2, Vector512<short> b2, Vector512<short> a3, Vector512<short> b3, float s0, float s1, float s2, float s3,
        Vector512<float> f0, Vector512<float> f1, Vector512<float> f2, Vector512<float> f3)
    {
        var lo = Avx512BW.LoadVector512(x);
        var hi = Avx512BW.LoadVector512(x + 32);
        return (Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(a0, lo) + Avx512BW.MultiplyAddAdjacent(b0, hi)), Vector512.Create(s0), f0),
                Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(a1, lo) + Avx512BW.MultiplyAddAdjacent(b1, hi)), Vector512.Create(s1), f1),
                Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(a2, lo) + Avx512BW.MultiplyAddAdjacent(b2, hi)), Vector512.Create(s2), f2),
                Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(a3, lo) + Avx512BW.MultiplyAddAdjacent(b3, hi)), Vector512.Create(s3), f3));
    }
}
