using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Molmo.Model.Kernels;

/// <summary>
/// Quantised weights [N, K] as the integer GEMM packs them: 16 columns of a row as 16-bit values, one column, and the float32
/// scale of a group of <see cref="GroupSize"/> columns (a power of two from 16 up to <see cref="CpuGemv.QBlock"/>; int8's
/// one scale a row is the scale of every group of the row). Structs, so each kind's packing is compiled apart.
/// </summary>
internal interface IPairRows
{
    /// <summary>Columns sharing a scale, as the GEMM flushes its sums (at most one x block).</summary>
    int GroupSize { get; }

    /// <summary>Values [row, col … col + 15]; col is a multiple of 16 and col + 16 ≤ K.</summary>
    Vector256<short> Sixteen(int row, int col);

    /// <summary>Value [row, col].</summary>
    short One(int row, int col);

    /// <summary>The scale of [row, col]'s group.</summary>
    float Scale(int row, int col);
}

/// <summary>
/// Prefill-sized products of int8 and int4 weights as integers: x rounded to 16 bits per 256 columns with a float32 scale per
/// block (<see cref="CpuGemv.QuantizeBlocks"/>, as the decode kernels round it), the weights widened to 16 bits, and each
/// pair of adjacent columns multiplied and added in one instruction (vpmaddwd: 16 products a 256-bit instruction, where an
/// FMA does 8). The same packed GEMM as the float32 one (<see cref="CpuGemm"/>), on column pairs:
/// <list type="bullet">
/// <item>x is packed once into panels of 6 rows, [panel][K/2][6] 32-bit words (each a column pair's two 16-bit values),
/// with its block scales [panel][block][6];</item>
/// <item>a work item's 256 weight rows are packed per 256 K columns (one x block) into 16-row strips of pairs,
/// [strip][128][16], and their group scales, [strip][group][16];</item>
/// <item>a 6 × 16 register block sums each group's products exactly in 32-bit integers (int8: at most 256 · 127 · 32767 in
/// size, under 2³¹), then converts them and adds them, times x's block scale times the group's scale, into the float32
/// sums, group after group.</item>
/// </list>
/// Against the weights read as bf16(q · scale) into the float32 GEMM (<see cref="Int8Rows"/>, <see cref="Int4Rows"/>) this
/// also rounds less: the weights stay exact, and x keeps 16 bits per block where bf16 keeps 8 per value.
/// </summary>
public static unsafe partial class CpuGemm
{
    /// <summary>Column pairs a packed weight block: one x block of <see cref="CpuGemv.QBlock"/> columns.</summary>
    const int KPairs = CpuGemv.QBlock / 2;

    /// <summary>int8 weights q [N, K] with a float32 scale a row (<see cref="Int8Quantizer"/>), sign-extended.</summary>
    internal readonly struct Int8Pairs(sbyte* q, float* scale, int k) : IPairRows
    {
        public int GroupSize => CpuGemv.QBlock;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<short> Sixteen(int row, int col) => Avx2.ConvertToVector256Int16(q + (long)row * k + col);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public short One(int row, int col) => q[(long)row * k + col];
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Scale(int row, int col) => scale[row];
    }

    /// <summary>int4 weights (<see cref="Int4Layout"/>), sign-extended; g ≥ 16, so 16 columns from a multiple of 16 lie in one
    /// group.</summary>
    internal readonly struct Int4Pairs(byte* packed, float* scale, int k, int g) : IPairRows
    {
        readonly Int4Layout _w = new(packed, scale, k, g, run: 16);

        public int GroupSize => _w.G;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<short> Sixteen(int row, int col) => Int4Quantizer.Nibbles16(_w.Bytes(row, col, out bool high), high);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public short One(int row, int col) => (short)_w.At(row, col);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Scale(int row, int col) => _w.Scale(row, col);
    }

    /// <summary>
    /// y [M, N] (row stride N) = x [M, K] · (w's values · their scales)ᵀ, x read through <typeparamref name="TX"/> and rounded
    /// to 16 bits per block, w through <typeparamref name="TW"/> (see the type's summary), on the kernel threads. Not
    /// reentrant: one product at a time in the process.
    /// </summary>
    internal static void ProductInt16<TX, TW>(TX x, int m, int k, TW w, int n, float* y) where TX : struct, IMatrixRows where TW : struct, IPairRows
    {
        if (!IsSupported) throw new PlatformNotSupportedException("the packed GEMM needs AVX2 and FMA");
        if (w.GroupSize > CpuGemv.QBlock || CpuGemv.QBlock % w.GroupSize != 0) throw new ArgumentException($"groups of {w.GroupSize} columns do not divide x's blocks of {CpuGemv.QBlock}");
        _calls++;
        if (m <= 0 || n <= 0 || k <= 0) return;
        int panels = (m + MR - 1) / MR, pairs = (k + 1) / 2, blocks = (k + CpuGemv.QBlock - 1) / CpuGemv.QBlock;
        long pairWords = (long)panels * pairs * MR;
        float* buffer = PackedXBuffer(4 * (pairWords + (long)panels * blocks * MR), out bool kept);
        int* px = (int*)buffer;
        float* xs = buffer + pairWords;
        // Each thread's weight block: 128 pairs of 256 rows (128 KB) and their group scales (up to 16 KB: int4's groups of 16).
        int groupsPerBlock = CpuGemv.QBlock / w.GroupSize;
        long pwWords = (long)KPairs * NC + (long)groupsPerBlock * NC;
        try
        {
            // Each thread's scratch for rounding x: a row as float32, 6 rows of 16-bit values, a row's block scales.
            long scratch = 4L * k + 2L * MR * 2 * pairs + 4L * blocks;
            KernelThreads.ForEach(panels, CpuGemv.MaxThreads,
                () => (nint)NativeMemory.AlignedAlloc((nuint)scratch, 64),
                (p, buf) => PackXPairs(x, m, k, p, px + (long)p * pairs * MR, xs + (long)p * blocks * MR, (byte*)buf),
                buf => NativeMemory.AlignedFree((void*)buf));
            KernelThreads.ForEach((n + NC - 1) / NC, CpuGemv.MaxThreads,
                () => (nint)NativeMemory.AlignedAlloc((nuint)(4 * pwWords), 64),
                (item, pw) => ItemInt16(px, xs, m, k, w, n, y, item, (int*)pw, (float*)pw + (long)KPairs * NC),
                pw => NativeMemory.AlignedFree((void*)pw));
        }
        finally { if (!kept) NativeMemory.AlignedFree(buffer); }
    }

    /// <summary>
    /// x rows [6·panel, 6·panel + 6) rounded to 16 bits per block: the pairs [K/2][6] (an odd K's last pair ends in 0; rows
    /// past M are 0) and the scales [block][6]. <paramref name="scratch"/>: the thread's buffer (see ProductInt16).
    /// </summary>
    static void PackXPairs<TX>(TX x, int m, int k, int panel, int* dst, float* scales, byte* scratch) where TX : struct, IMatrixRows
    {
        int r0 = panel * MR, rows = Math.Min(MR, m - r0), pairs = (k + 1) / 2, blocks = (k + CpuGemv.QBlock - 1) / CpuGemv.QBlock;
        var row = (float*)scratch;
        var q = (short*)(row + k);
        var s = (float*)(q + MR * 2L * pairs);
        for (int r = 0; r < MR; r++)
        {
            short* qr = q + (long)r * 2 * pairs;
            qr[2 * pairs - 1] = 0;
            if (r < rows)
            {
                int c = 0;
                for (; c + 8 <= k; c += 8) Avx.Store(row + c, x.Eight(r0 + r, c));
                for (; c < k; c++) row[c] = x.One(r0 + r, c);
                CpuGemv.QuantizeBlocks(row, k, qr, s);
            }
            else
            {
                new Span<short>(qr, 2 * pairs).Clear();
                new Span<float>(s, blocks).Clear();
            }
            for (int b = 0; b < blocks; b++) scales[b * MR + r] = s[b];
        }
        // Each row's pairs are its 32-bit words: 6 rows of them transposed into runs of 6, 8 pairs at a time (the stores
        // overlap as x's float32 packing's do, hence p + 8 < pairs).
        int* w = (int*)q;
        int p = 0;
        for (; p + 8 < pairs; p += 8)
        {
            Vector256<float> Row(int r) => Avx.LoadVector256((float*)(w + (long)r * pairs + p));
            Transpose8(Row(0), Row(1), Row(2), Row(3), Row(4), Row(5), default, default, (float*)(dst + (long)p * MR), MR);
        }
        for (; p < pairs; p++)
            for (int r = 0; r < MR; r++) dst[(long)p * MR + r] = w[(long)r * pairs + p];
    }

    /// <summary>Output columns [256·item, 256·item + 256): every x panel against the item's weight rows, one x block at a time,
    /// a group at a time within it.</summary>
    static void ItemInt16<TW>(int* px, float* xs, int m, int k, TW w, int n, float* y, int item, int* pw, float* pws) where TW : struct, IPairRows
    {
        int n0 = item * NC, nc = Math.Min(NC, n - n0), strips = (nc + NR - 1) / NR, panels = (m + MR - 1) / MR;
        int pairs = (k + 1) / 2, blocks = (k + CpuGemv.QBlock - 1) / CpuGemv.QBlock, groupPairs = w.GroupSize / 2;
        for (int b = 0; b < blocks; b++)
        {
            int p0 = b * KPairs, kp = Math.Min(KPairs, pairs - p0), groups = (kp + groupPairs - 1) / groupPairs;
            PackWPairs(w, k, n0, 2 * p0, nc, kp, pw, pws);
            for (int g0 = 0; g0 < panels; g0 += MC)
                for (int s = 0; s < strips; s++)
                    for (int p = g0; p < Math.Min(panels, g0 + MC); p++)
                        Block6x16Int16(px + ((long)p * pairs + p0) * MR, pw + (long)s * kp * NR, kp, groupPairs, xs + ((long)p * blocks + b) * MR,
                                       pws + (long)s * groups * NR, y + (long)p * MR * n + n0 + s * NR, n,
                                       Math.Min(MR, m - p * MR), Math.Min(NR, nc - s * NR), accumulate: b > 0);
        }
    }

    /// <summary>Weight rows [n0, n0 + nc) × columns [c0, c0 + 2·kp) as 16-bit values into 16-row strips of column pairs
    /// [strip][kp][16] (a pair past K ends in 0), and their group scales into [strip][group][16]; rows past nc are 0.</summary>
    static void PackWPairs<TW>(TW w, int k, int n0, int c0, int nc, int kp, int* dst, float* scales) where TW : struct, IPairRows
    {
        int groupPairs = w.GroupSize / 2, groups = (kp + groupPairs - 1) / groupPairs;
        for (int s = 0; s * NR < nc; s++)
        {
            int* d = dst + (long)s * kp * NR;
            int p = 0, r0 = n0 + s * NR;
            if (nc - s * NR >= NR)
                for (; p + 8 <= kp && c0 + 2 * p + 16 <= k; p += 8)
                    for (int half = 0; half < NR; half += 8)
                    {
                        // A row's 16 columns as 16-bit values are its 8 pairs as 32-bit words; 8 rows of them transposed.
                        int r = r0 + half, col = c0 + 2 * p;
                        Transpose8(w.Sixteen(r, col).AsSingle(), w.Sixteen(r + 1, col).AsSingle(), w.Sixteen(r + 2, col).AsSingle(),
                                   w.Sixteen(r + 3, col).AsSingle(), w.Sixteen(r + 4, col).AsSingle(), w.Sixteen(r + 5, col).AsSingle(),
                                   w.Sixteen(r + 6, col).AsSingle(), w.Sixteen(r + 7, col).AsSingle(), (float*)(d + p * NR + half), NR);
                    }
            for (int r = 0; r < NR; r++)
            {
                bool real = s * NR + r < nc;
                for (int pp = p; pp < kp; pp++)
                {
                    int c = c0 + 2 * pp;
                    uint lo = real ? (ushort)w.One(r0 + r, c) : 0u, hi = real && c + 1 < k ? (uint)(ushort)w.One(r0 + r, c + 1) << 16 : 0u;
                    d[pp * NR + r] = (int)(lo | hi);
                }
                for (int gi = 0; gi < groups; gi++)
                    scales[((long)s * groups + gi) * NR + r] = real ? w.Scale(r0 + r, c0 + gi * w.GroupSize) : 0;
            }
        }
    }

    /// <summary>
    /// For each group g of <paramref name="groupPairs"/> pairs of the kp: y[r, c] = (the earlier blocks' and groups' y[r, c]
    /// if any) + (Σ_(p in g) a[p][r] · b[p][c]) · (xs[r] · ws[g][c]), for r &lt; rows, c &lt; cols: 6 packed x rows of 16-bit
    /// pairs against one 16-row strip, each group's sums exact in 32-bit integers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Block6x16Int16(int* a, int* b, int kp, int groupPairs, float* xs, float* ws, float* y, int ldy, int rows, int cols, bool accumulate)
    {
        if (accumulate) for (int r = 0; r < rows; r++) Sse.Prefetch0(y + (long)r * ldy);
        for (int q0 = 0; q0 < kp; q0 += groupPairs, ws += NR, accumulate = true)
            Group6x16Int16(a + q0 * MR, b + q0 * NR, Math.Min(groupPairs, kp - q0), xs, ws, y, ldy, rows, cols, accumulate);
    }

    /// <summary>One group of <see cref="Block6x16Int16"/>: its kp pairs from a and b into y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Group6x16Int16(int* a, int* b, int kp, float* xs, float* ws, float* y, int ldy, int rows, int cols, bool accumulate)
    {
        Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<int> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Steps<PairStep, int>(a, b, kp, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
        if (rows == MR && cols == NR)
        {
            var w0 = Avx.LoadVector256(ws);
            var w1 = Avx.LoadVector256(ws + 8);
            Scaled(y, c00, c01, xs[0], w0, w1, accumulate); Scaled(y + ldy, c10, c11, xs[1], w0, w1, accumulate);
            Scaled(y + 2 * ldy, c20, c21, xs[2], w0, w1, accumulate); Scaled(y + 3 * ldy, c30, c31, xs[3], w0, w1, accumulate);
            Scaled(y + 4 * ldy, c40, c41, xs[4], w0, w1, accumulate); Scaled(y + 5 * ldy, c50, c51, xs[5], w0, w1, accumulate);
            return;
        }
        // The last panel's rows past M, and a strip's columns past N: the same arithmetic a value at a time.
        int* t = stackalloc int[MR * NR];
        Tile(t, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                float* at = y + (long)r * ldy + c;
                *at = MathF.FusedMultiplyAdd(t[r * NR + c], xs[r] * ws[c], accumulate ? *at : 0);
            }
    }

    /// <summary>One column pair: 6 x pairs (each broadcast) times 16 weight pairs, multiplied and added pairwise into the 12
    /// accumulators.</summary>
    readonly struct PairStep : IRegisterStep<int>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(int* a, int* b, ref Vector256<int> c00, ref Vector256<int> c01, ref Vector256<int> c10, ref Vector256<int> c11,
            ref Vector256<int> c20, ref Vector256<int> c21, ref Vector256<int> c30, ref Vector256<int> c31,
            ref Vector256<int> c40, ref Vector256<int> c41, ref Vector256<int> c50, ref Vector256<int> c51)
        {
            var b0 = Avx.LoadAlignedVector256((short*)b);
            var b1 = Avx.LoadAlignedVector256((short*)(b + 8));
            var v = Avx2.BroadcastScalarToVector256(a).AsInt16();
            c00 += Avx2.MultiplyAddAdjacent(v, b0); c01 += Avx2.MultiplyAddAdjacent(v, b1);
            v = Avx2.BroadcastScalarToVector256(a + 1).AsInt16();
            c10 += Avx2.MultiplyAddAdjacent(v, b0); c11 += Avx2.MultiplyAddAdjacent(v, b1);
            v = Avx2.BroadcastScalarToVector256(a + 2).AsInt16();
            c20 += Avx2.MultiplyAddAdjacent(v, b0); c21 += Avx2.MultiplyAddAdjacent(v, b1);
            v = Avx2.BroadcastScalarToVector256(a + 3).AsInt16();
            c30 += Avx2.MultiplyAddAdjacent(v, b0); c31 += Avx2.MultiplyAddAdjacent(v, b1);
            v = Avx2.BroadcastScalarToVector256(a + 4).AsInt16();
            c40 += Avx2.MultiplyAddAdjacent(v, b0); c41 += Avx2.MultiplyAddAdjacent(v, b1);
            v = Avx2.BroadcastScalarToVector256(a + 5).AsInt16();
            c50 += Avx2.MultiplyAddAdjacent(v, b0); c51 += Avx2.MultiplyAddAdjacent(v, b1);
        }
    }

    /// <summary>One row of a register block's 16 sums, converted, times x's block scale times the weights' group scales,
    /// added to the earlier groups'.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Scaled(float* y, Vector256<int> lo, Vector256<int> hi, float xs, Vector256<float> w0, Vector256<float> w1, bool accumulate)
    {
        var s = Vector256.Create(xs);
        var l = Fma.MultiplyAdd(Avx.ConvertToVector256Single(lo), Avx.Multiply(s, w0), accumulate ? Avx.LoadVector256(y) : Vector256<float>.Zero);
        var h = Fma.MultiplyAdd(Avx.ConvertToVector256Single(hi), Avx.Multiply(s, w1), accumulate ? Avx.LoadVector256(y + 8) : Vector256<float>.Zero);
        Avx.Store(y, l);
        Avx.Store(y + 8, h);
    }
}
