using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Molmo.Model.Kernels;

/// <summary>
/// Prefill-sized products y [M, N] = x [M, K] · wᵀ of float32 or bf16 rows and bf16, float32, int8 or int4 weights [N, K], in
/// float32, on CPUs with AVX2 and FMA, for <see cref="Float32Gemm"/> (CPUs where libtorch has no fast bf16 GEMM). A packed GEMM
/// of the usual (BLIS) shape:
/// <list type="bullet">
/// <item>x is packed once (widened from bf16) into panels of 6 rows, [panel][K][6], 8 columns at a time through a transpose
/// in registers;</item>
/// <item>each work item is a block of 256 weight rows (output columns); for each 256 of its K columns it reads the weights as
/// float32 (<see cref="IMatrixRows"/>: bf16 widened; int8 and int4, in the benchmarks' baseline, dequantised to their bf16
/// values, which the integer products of CpuGemm.Int16.cs replaced) into 16-row strips,
/// [strip][256][16] (256 KB, kept in L2), with an 8 × 8 transpose in registers;</item>
/// <item>then, for 24 x panels at a time, each strip (16 KB, in L1) meets each panel in a 6 × 16 register block: 12
/// accumulators, two weight vectors and one broadcast x value a step, 12 FMAs to 8 loads.</item>
/// </list>
/// Each output is a float32 sum in ascending K within each 256 columns, the blocks' sums added in order. On a Zen 3 this runs
/// at 122–132 GFLOP/s on two cores (78–84 % of its FMA ceiling) where libtorch's float32 GEMM (MKL) over the same weights,
/// widened a slice at a time, reached 93–103 (docs/benchmarks.md, "A packed GEMM for prefill on AVX2 CPUs").
/// </summary>
public static unsafe partial class CpuGemm
{
    const int MR = 6;         // x rows a register block
    const int NR = 16;        // output columns a register block (two vectors of 8)
    const int KC = 256;       // K columns a packed weight block
    const int NC = 256;       // weight rows (output columns) a work item
    const int MC = 24;        // x panels a weight strip meets while it stays in L1

    /// <summary>Whether the kernel runs here (AVX2 and FMA).</summary>
    public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>Products (<c>Bf16</c> and <c>Float32</c>, either x) computed for the calling thread so far (tests: which route
    /// a product took).</summary>
    internal static int CallsOnThisThread => _calls;
    [ThreadStatic] static int _calls;

    // The packed x, kept for the process and grown as needed up to 64 MB (a fresh buffer was faulted in anew for every
    // product: 20 ms of a 7B-D ff_out product on a Zen 3); larger ones (long prompts' FFN inputs) are made for the product.
    // Callers serialise on it (Float32Gemm's lock); each product uses every kernel thread anyway.
    const long KeptPackedXBytes = 64L << 20;
    static float* _packedX;
    static long _packedXBytes;

    /// <summary>
    /// y [M, N] (row stride N) = x [M, K] · wᵀ, x read through <typeparamref name="TX"/> (<see cref="Bf16Rows"/>,
    /// <see cref="Float32Rows"/>) and w [N, K] through <typeparamref name="TW"/> (those, <see cref="Int8Rows"/>,
    /// <see cref="Int4Rows"/>), on the kernel threads
    /// (<see cref="CpuGemv.MaxThreads"/>). Not reentrant: one product at a time in the process.
    /// </summary>
    // TX and TW are structs, so the JIT compiles each pair apart and their reads are inlined: the kinds cost no test in the
    // loops.
    internal static void Product<TX, TW>(TX x, int m, int k, TW w, int n, float* y) where TX : struct, IMatrixRows where TW : struct, IMatrixRows
    {
        if (!IsSupported) throw new PlatformNotSupportedException("the packed GEMM needs AVX2 and FMA");
        _calls++;
        if (m <= 0 || n <= 0 || k <= 0) return;
        int panels = (m + MR - 1) / MR;
        float* px = PackedXBuffer((long)panels * k * MR * sizeof(float), out bool kept);
        try
        {
            KernelThreads.ForEach(panels, CpuGemv.MaxThreads, p => PackX(x, m, k, p, px + (long)p * k * MR));
            // Each thread's weight block (256 KB) for the product.
            KernelThreads.ForEach((n + NC - 1) / NC, CpuGemv.MaxThreads,
                () => (nint)NativeMemory.AlignedAlloc(KC * NC * sizeof(float), 64),
                (item, pw) => Item(px, m, k, w, n, y, item, (float*)pw),
                pw => NativeMemory.AlignedFree((void*)pw));
        }
        finally { if (!kept) NativeMemory.AlignedFree(px); }
    }

    /// <summary>A buffer of <paramref name="bytes"/> for packed x: the one kept for the process (grown as needed) up to
    /// <see cref="KeptPackedXBytes"/>, else a new one, which the caller frees (<paramref name="kept"/> false).</summary>
    static float* PackedXBuffer(long bytes, out bool kept)
    {
        kept = bytes <= KeptPackedXBytes;
        if (!kept) return (float*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        if (_packedXBytes < bytes)
        {
            NativeMemory.AlignedFree(_packedX);
            _packedX = null;
            _packedXBytes = 0;
            _packedX = (float*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
            _packedXBytes = bytes;
        }
        return _packedX;
    }

    /// <summary>x rows [6·panel, 6·panel + 6) as float32 [K][6], rows past M zero.</summary>
    static void PackX<TX>(TX x, int m, int k, int panel, float* dst) where TX : struct, IMatrixRows
    {
        int r0 = panel * MR, rows = Math.Min(MR, m - r0);
        int c = 0;
        // 8 columns of the 6 rows at a time, transposed in registers into 8 runs of 6 (scalar, this pack was 2.4 % of a 1.5B
        // prefill's time on a Zen 3). Each run is stored as a whole vector, ascending, so its last 2 floats are overwritten by
        // the next run; the 8th run's land on the next 8 columns' first 2 (hence c + 8 < k: those columns exist, and are
        // written after).
        for (; c + 8 < k; c += 8)
        {
            var v0 = x.Eight(r0, c);
            var v1 = rows > 1 ? x.Eight(r0 + 1, c) : default;
            var v2 = rows > 2 ? x.Eight(r0 + 2, c) : default;
            var v3 = rows > 3 ? x.Eight(r0 + 3, c) : default;
            var v4 = rows > 4 ? x.Eight(r0 + 4, c) : default;
            var v5 = rows > 5 ? x.Eight(r0 + 5, c) : default;
            Transpose8(v0, v1, v2, v3, v4, v5, default, default, dst + (long)c * MR, MR);
        }
        for (int r = 0; r < MR; r++)
            for (int cc = c; cc < k; cc++) dst[(long)cc * MR + r] = r < rows ? x.One(r0 + r, cc) : 0;
    }

    /// <summary>Output columns [256·item, 256·item + 256): every x panel against the item's weight rows, 256 K columns at a time.</summary>
    static void Item<TW>(float* px, int m, int k, TW w, int n, float* y, int item, float* pw) where TW : struct, IMatrixRows
    {
        int n0 = item * NC, nc = Math.Min(NC, n - n0), strips = (nc + NR - 1) / NR, panels = (m + MR - 1) / MR;
        for (int k0 = 0; k0 < k; k0 += KC)
        {
            int kc = Math.Min(KC, k - k0);
            PackW(w, n0, k0, nc, kc, pw);
            for (int p0 = 0; p0 < panels; p0 += MC)
                for (int s = 0; s < strips; s++)
                    for (int p = p0; p < Math.Min(panels, p0 + MC); p++)
                        Block6x16(px + ((long)p * k + k0) * MR, pw + (long)s * kc * NR, kc, y + (long)p * MR * n + n0 + s * NR, n,
                                  Math.Min(MR, m - p * MR), Math.Min(NR, nc - s * NR), accumulate: k0 > 0);
        }
    }

    /// <summary>Weight rows [n0, n0 + nc) × columns [k0, k0 + kc), as float32, into 16-row strips laid out [strip][kc][16], rows
    /// past nc zero.</summary>
    static void PackW<TW>(TW w, int n0, int k0, int nc, int kc, float* dst) where TW : struct, IMatrixRows
    {
        for (int s = 0; s * NR < nc; s++)
        {
            float* d = dst + (long)s * kc * NR;
            int c = 0, r0 = n0 + s * NR;
            if (nc - s * NR >= NR)
                for (; c + 8 <= kc; c += 8)
                    for (int half = 0; half < NR; half += 8)
                    {
                        int r = r0 + half, col = k0 + c;
                        Transpose8(w.Eight(r, col), w.Eight(r + 1, col), w.Eight(r + 2, col), w.Eight(r + 3, col),
                                   w.Eight(r + 4, col), w.Eight(r + 5, col), w.Eight(r + 6, col), w.Eight(r + 7, col), d + c * NR + half, NR);
                    }
            // The columns past the last 8 of a whole strip, and every column of a strip cut short by nc.
            for (int r = 0; r < NR; r++)
                for (int cc = c; cc < kc; cc++) d[cc * NR + r] = s * NR + r < nc ? w.One(r0 + r, k0 + cc) : 0;
        }
    }

    /// <summary>8 rows of 8 values (v0 … v7) transposed: column j's 8 values stored at d + j · stride, j ascending (a stride
    /// under 8 overwrites each run's tail with the next run).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Transpose8(Vector256<float> v0, Vector256<float> v1, Vector256<float> v2, Vector256<float> v3,
                           Vector256<float> v4, Vector256<float> v5, Vector256<float> v6, Vector256<float> v7, float* d, int stride)
    {
        // Pairs of rows interleaved, then quarters: u0 holds column 0 of rows 0–3 and column 4 of rows 0–3, and so on.
        var t0 = Avx.UnpackLow(v0, v1); var t1 = Avx.UnpackHigh(v0, v1); var t2 = Avx.UnpackLow(v2, v3); var t3 = Avx.UnpackHigh(v2, v3);
        var t4 = Avx.UnpackLow(v4, v5); var t5 = Avx.UnpackHigh(v4, v5); var t6 = Avx.UnpackLow(v6, v7); var t7 = Avx.UnpackHigh(v6, v7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE); var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE); var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(d + stride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(d + 2 * stride, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(d + 3 * stride, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(d + 4 * stride, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(d + 5 * stride, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(d + 6 * stride, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(d + 7 * stride, Avx.Permute2x128(u3, u7, 0x31));
    }

    /// <summary>
    /// y[r, c] (+)= Σ_p a[p][r] · b[p][c] for r &lt; rows, c &lt; cols: 6 packed x rows against one 16-column weight strip over
    /// kc columns. An earlier block's sums (accumulate) are added after this block's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Block6x16(float* a, float* b, int kc, float* y, int ldy, int rows, int cols, bool accumulate)
    {
        // The earlier blocks' sums are in L3 by now, rows thousands of floats apart: asked for first, they arrive while this
        // block's sums are made (7–9 % of a 7B-D product on a Zen 3).
        if (accumulate) for (int r = 0; r < rows; r++) Sse.Prefetch0(y + (long)r * ldy);
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Steps<FmaStep, float>(a, b, kc, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
        if (rows == MR && cols == NR)
        {
            Store(y, c00, c01, accumulate); Store(y + ldy, c10, c11, accumulate); Store(y + 2 * ldy, c20, c21, accumulate);
            Store(y + 3 * ldy, c30, c31, accumulate); Store(y + 4 * ldy, c40, c41, accumulate); Store(y + 5 * ldy, c50, c51, accumulate);
            return;
        }
        // The last panel's rows past M, and a strip's columns past N: through a tile on the stack.
        float* t = stackalloc float[MR * NR];
        Tile(t, c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                y[(long)r * ldy + c] = accumulate ? y[(long)r * ldy + c] + t[r * NR + c] : t[r * NR + c];
    }

    /// <summary>One step of a 6 × 16 register block: 6 packed x values against a strip's 16, into the 12 accumulators.
    /// Structs, so that each block's loop (<see cref="Steps{TS, T}"/>) is compiled with its own step inlined.</summary>
    interface IRegisterStep<T> where T : unmanaged
    {
        static abstract void Step(T* a, T* b, ref Vector256<T> c00, ref Vector256<T> c01, ref Vector256<T> c10, ref Vector256<T> c11,
            ref Vector256<T> c20, ref Vector256<T> c21, ref Vector256<T> c30, ref Vector256<T> c31,
            ref Vector256<T> c40, ref Vector256<T> c41, ref Vector256<T> c50, ref Vector256<T> c51);
    }

    /// <summary>
    /// kc steps of <typeparamref name="TS"/> over a (6 values a step) and b (16 a step). Four steps a pass: the JIT does not
    /// unroll, and the loop's own instructions were 4 of every 24 of the float32 block's. With x's vector packing, a 1.5B
    /// prefill 1.05× and a 7B-D one 1.03× as fast on a Zen 3 (docs/benchmarks.md, "The packed GEMM's x packing and inner
    /// loop").
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Steps<TS, T>(T* a, T* b, int kc, ref Vector256<T> c00, ref Vector256<T> c01, ref Vector256<T> c10, ref Vector256<T> c11,
        ref Vector256<T> c20, ref Vector256<T> c21, ref Vector256<T> c30, ref Vector256<T> c31,
        ref Vector256<T> c40, ref Vector256<T> c41, ref Vector256<T> c50, ref Vector256<T> c51) where TS : struct, IRegisterStep<T> where T : unmanaged
    {
        int p = 0;
        for (; p + 4 <= kc; p += 4)
        {
            TS.Step(a, b, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
            TS.Step(a + MR, b + NR, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
            TS.Step(a + 2 * MR, b + 2 * NR, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
            TS.Step(a + 3 * MR, b + 3 * NR, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
            a += 4 * MR;
            b += 4 * NR;
        }
        for (; p < kc; p++, a += MR, b += NR)
            TS.Step(a, b, ref c00, ref c01, ref c10, ref c11, ref c20, ref c21, ref c30, ref c31, ref c40, ref c41, ref c50, ref c51);
    }

    /// <summary>A register block's 12 accumulators stored as a 6 × 16 tile at t (the blocks' partial tiles).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Tile<T>(T* t, Vector256<T> c00, Vector256<T> c01, Vector256<T> c10, Vector256<T> c11, Vector256<T> c20, Vector256<T> c21,
        Vector256<T> c30, Vector256<T> c31, Vector256<T> c40, Vector256<T> c41, Vector256<T> c50, Vector256<T> c51) where T : unmanaged
    {
        c00.Store(t); c01.Store(t + 8); c10.Store(t + 16); c11.Store(t + 24); c20.Store(t + 32); c21.Store(t + 40);
        c30.Store(t + 48); c31.Store(t + 56); c40.Store(t + 64); c41.Store(t + 72); c50.Store(t + 80); c51.Store(t + 88);
    }

    /// <summary>One K column: 6 x values times 16 weights into the 12 accumulators.</summary>
    readonly struct FmaStep : IRegisterStep<float>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Step(float* a, float* b, ref Vector256<float> c00, ref Vector256<float> c01, ref Vector256<float> c10, ref Vector256<float> c11,
            ref Vector256<float> c20, ref Vector256<float> c21, ref Vector256<float> c30, ref Vector256<float> c31,
            ref Vector256<float> c40, ref Vector256<float> c41, ref Vector256<float> c50, ref Vector256<float> c51)
        {
            var b0 = Avx.LoadAlignedVector256(b);
            var b1 = Avx.LoadAlignedVector256(b + 8);
            var v = Avx.BroadcastScalarToVector256(a);
            c00 = Fma.MultiplyAdd(v, b0, c00); c01 = Fma.MultiplyAdd(v, b1, c01);
            v = Avx.BroadcastScalarToVector256(a + 1);
            c10 = Fma.MultiplyAdd(v, b0, c10); c11 = Fma.MultiplyAdd(v, b1, c11);
            v = Avx.BroadcastScalarToVector256(a + 2);
            c20 = Fma.MultiplyAdd(v, b0, c20); c21 = Fma.MultiplyAdd(v, b1, c21);
            v = Avx.BroadcastScalarToVector256(a + 3);
            c30 = Fma.MultiplyAdd(v, b0, c30); c31 = Fma.MultiplyAdd(v, b1, c31);
            v = Avx.BroadcastScalarToVector256(a + 4);
            c40 = Fma.MultiplyAdd(v, b0, c40); c41 = Fma.MultiplyAdd(v, b1, c41);
            v = Avx.BroadcastScalarToVector256(a + 5);
            c50 = Fma.MultiplyAdd(v, b0, c50); c51 = Fma.MultiplyAdd(v, b1, c51);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store(float* y, Vector256<float> lo, Vector256<float> hi, bool accumulate)
    {
        if (accumulate) { lo += Avx.LoadVector256(y); hi += Avx.LoadVector256(y + 8); }
        Avx.Store(y, lo);
        Avx.Store(y + 8, hi);
    }
}
