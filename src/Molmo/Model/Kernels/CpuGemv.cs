using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Molmo.Checkpoints;
using static TorchSharp.torch;

namespace Molmo.Model.Kernels;

/// <summary>
/// Matrix–vector products for decoding on the CPU: y[m, r] = Σ_k W[r, k]·x[m, k] (+ b[r]) for a handful of input rows m,
/// with bf16, int8 or float32 weights read straight from memory (converted to float32 in registers, never as a whole matrix) and
/// float32 accumulation. A decode step is bound by reading the weights; this kernel streams every weight row once for all
/// m input rows.
/// </summary>
public static unsafe partial class CpuGemv
{
    /// <summary>
    /// Most input rows one call takes (a batched decode step). Each weight row is read from DRAM once for all of them and
    /// converted to float32 once per 4 rows; prefill-sized inputs are compute-bound and belong to a GEMM.
    /// </summary>
    public const int MaxRows = 64;

    /// <summary>Rows of W per unit of work split over threads.</summary>
    const int Block = 4;

    public static bool IsSupported => Avx512F.IsSupported || (Avx2.IsSupported && Fma.IsSupported);

    /// <summary>Which instruction sets the CPU kernels use on this machine: "AVX-512", "AVX2", or none (libtorch's routes).</summary>
    public static string InstructionSets => Avx512BW.IsSupported ? "AVX-512" : Avx2.IsSupported && Fma.IsSupported ? "AVX2" : "neither AVX2 nor AVX-512 (libtorch's routes)";

    /// <summary>Whether float32 weights have a kernel here (AVX-512, or AVX2 and FMA; elsewhere libtorch's fp32 GEMV is used).</summary>
    public static bool SupportsFloat32 => IsSupported;

    enum Weights { Bf16, Int8, Fp32, Int4 }

    /// <summary>
    /// int8 rows widened to float32 against float32 x, as on machines without AVX2, instead of integer products against
    /// 16-bit x (CpuGemv.Int8.cs): the earlier kernel, kept as the benchmark's baseline and tested like the other paths.
    /// Per calling thread, so that a test or benchmark setting it affects only its own calls.
    /// </summary>
    internal static bool Int8FloatProducts { get => _int8FloatProducts; set => _int8FloatProducts = value; }
    [ThreadStatic] static bool _int8FloatProducts;

    /// <summary>
    /// A single sequence's weight rows streamed without the software prefetch (single bf16 and int8 rows:
    /// <see cref="Bf16RowPrefetch"/>, <see cref="Int8RowPrefetch"/>; bf16 rows four at a time against a wide x, ff_out's:
    /// <see cref="PrefetchAhead"/>), left to the hardware prefetcher: the benchmarks' baseline. Per calling thread.
    /// </summary>
    internal static bool NoRowPrefetch { get => _noRowPrefetch; set => _noRowPrefetch = value; }
    [ThreadStatic] static bool _noRowPrefetch;

    /// <summary>
    /// x, bias and scales converted to float32 by libtorch around the kernel, and its float32 output converted back, as
    /// before the kernel read bf16 and wrote it itself (the same values, more libtorch calls): the benchmarks' baseline.
    /// Per calling thread.
    /// </summary>
    internal static bool LibtorchConversions { get => _libtorchConversions; set => _libtorchConversions = value; }
    [ThreadStatic] static bool _libtorchConversions;

    /// <summary>
    /// Whether every dtype's kernel here gives a row of x the same bits alone and in a batched step (up to
    /// <see cref="MaxRows"/> rows): with AVX2 and not AVX-512, where a single sequence's bf16 rows take the batched blocks'
    /// arithmetic (<see cref="Bf16Dot4Avx2{TX}"/>) and float32 rows are summed row by row either way. int8's and int4's
    /// kernels are with AVX-512 too; its bf16 and float32 one-row kernels sum in another order than its 4 × 4 blocks (both
    /// within the kernels' rounding bound).
    /// </summary>
    public static bool BatchInvariant => !Avx512F.IsSupported && Avx2.IsSupported && Fma.IsSupported;

    /// <summary>
    /// A single sequence's bf16 rows read one at a time, each widened against float32 x (<see cref="Bf16DotAvx2"/>), as
    /// before they took the batched blocks' arithmetic (AVX2): the benchmarks' baseline, not batch-invariant. Per calling
    /// thread.
    /// </summary>
    internal static bool Bf16RowsWidened { get => _bf16RowsWidened; set => _bf16RowsWidened = value; }
    [ThreadStatic] static bool _bf16RowsWidened;

    /// <summary>
    /// Batched int8 and int4 steps on AVX2 taken row by row, each weight row against the x rows in turn, as before the AVX2
    /// blocks (<see cref="Int16Block1x4Avx2{TM}"/>, <see cref="Int4Block1x4Avx2{TM}"/>): the benchmarks' baseline (the same
    /// bits). Per calling thread.
    /// </summary>
    internal static bool IntBatchesRowByRow { get => _intBatchesRowByRow; set => _intBatchesRowByRow = value; }
    [ThreadStatic] static bool _intBatchesRowByRow;

    /// <summary>
    /// The four-row blocks' software prefetch kept inside each row, as first written, instead of running on into the next
    /// block's rows (<see cref="PrefetchBlock"/>): the benchmarks' baseline. Per calling thread.
    /// </summary>
    internal static bool PrefetchWithinRows { get => _prefetchWithinRows; set => _prefetchWithinRows = value; }
    [ThreadStatic] static bool _prefetchWithinRows;

    /// <summary>
    /// Threads the kernel splits the rows over; default: every core. A decode step is one stream of weights, and a single core
    /// of this project's machine kind reads DRAM at about 80 % of what two reach.
    /// </summary>
    public static int MaxThreads { get => _threadsOfThisThread > 0 ? _threadsOfThisThread : _maxThreads; set => _maxThreads = value; }
    static int _maxThreads = Environment.ProcessorCount;

    /// <summary>
    /// Threads for the kernels that this thread calls, in place of <see cref="MaxThreads"/> (0: that count). Tests of the
    /// split set it, so they neither race one another nor change the process-wide count that <c>--threads</c> sets.
    /// </summary>
    internal static int ThreadsOfThisThread { get => _threadsOfThisThread; set => _threadsOfThisThread = value; }
    [ThreadStatic] static int _threadsOfThisThread;

    /// <summary>
    /// Weight bytes the kernel has streamed and the wall time it spent streaming them (from the split over threads to its
    /// end, not the conversions of x and y around it), summed over every call since the process started: the benchmark's
    /// split of a decode step into its products and the rest.
    /// </summary>
    internal static (long Bytes, TimeSpan Time) Streamed => (Interlocked.Read(ref _streamedBytes), Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _streamedTicks)));
    static long _streamedBytes, _streamedTicks;

    /// <summary>x [..., K] (any float dtype) times bf16 weight [N, K] (+ bias [N]) → [..., N] in x's dtype.</summary>
    public static Tensor LinearBf16(Tensor x, Tensor weight, Tensor? bias) => Linear(x, weight, bias, null, Weights.Bf16);

    /// <summary>x [..., K] times int8 weight [N, K] with per-row scales [N] (float32) (+ bias) → [..., N] in x's dtype.</summary>
    public static Tensor LinearInt8(Tensor x, Tensor weightInt8, Tensor scales, Tensor? bias) => Linear(x, weightInt8, bias, scales, Weights.Int8);

    /// <summary>x [..., K] times float32 weight [N, K] (+ bias) → [..., N] in x's dtype (needs <see cref="SupportsFloat32"/>).</summary>
    public static Tensor LinearFp32(Tensor x, Tensor weight, Tensor? bias)
    {
        if (!SupportsFloat32) throw new PlatformNotSupportedException("the float32 kernel needs AVX-512, or AVX2 and FMA");
        return Linear(x, weight, bias, null, Weights.Fp32);
    }

    static Tensor Linear(Tensor x, Tensor weight, Tensor? bias, Tensor? scales, Weights kind)
    {
        long n = weight.shape[0], k = weight.shape[1] * (kind == Weights.Int4 ? 2 : 1);   // int4: two weights a byte
        if (x.shape[^1] != k) throw new ArgumentException($"input width {x.shape[^1]} does not match weight [{n}, {k}]");
        if (!weight.is_contiguous()) throw new ArgumentException("weight must be contiguous");
        var expected = kind switch { Weights.Int8 => ScalarType.Int8, Weights.Fp32 => ScalarType.Float32, Weights.Int4 => ScalarType.Byte, _ => ScalarType.BFloat16 };
        if (weight.dtype != expected)
            throw new ArgumentException($"weight dtype {weight.dtype} does not match the {expected} kernel");
        using var scope = NewDisposeScope();
        // A decode step makes some 110 of these calls, and every libtorch call around the kernel costs about 10 µs here
        // (~1 ms a step each): so float32 and bf16 x are read where they are, widened by this code, and the output is written
        // in x's dtype directly. bf16 ↔ float32 here is what libtorch's conversions do (exact widening; round to nearest
        // even), so the results are the same as converting with libtorch around the kernel.
        var outType = x.dtype;
        bool direct = outType is ScalarType.Float32 or ScalarType.BFloat16 && !LibtorchConversions;
        var src = direct && x.is_contiguous() ? x : x.reshape(-1, k).to(ScalarType.Float32).contiguous();
        long m = src.NumberOfElements / k;
        var shape = x.shape;
        shape[^1] = n;
        var y = empty(shape, direct ? outType : ScalarType.Float32);
        float* xBuf = null, yBuf = null, bBuf = null, sBuf = null;
        try
        {
            var w = (byte*)NativeTensor.DataPointer(weight);
            var px = Float32Data(src, ref xBuf);
            var py = y.dtype == ScalarType.Float32 ? (float*)NativeTensor.DataPointer(y) : yBuf = Alloc(m * n);
            var pb = bias is null ? null : Float32Data(bias, ref bBuf);
            var ps = scales is null ? null : Float32Data(scales, ref sBuf);
            var pxb = kind == Weights.Bf16 && src.dtype == ScalarType.BFloat16 ? (ushort*)NativeTensor.DataPointer(src) : null;
            long start = Stopwatch.GetTimestamp();
            Run(w, kind, (int)n, (int)k, px, pxb, (int)m, py, pb, ps);
            Interlocked.Add(ref _streamedTicks, Stopwatch.GetTimestamp() - start);
            Interlocked.Add(ref _streamedBytes, weight.NumberOfElements * weight.ElementSize);
            if (yBuf != null) FloatToBf16((ushort*)NativeTensor.DataPointer(y), yBuf, m * n);
        }
        finally
        {
            NativeMemory.AlignedFree(xBuf); NativeMemory.AlignedFree(yBuf); NativeMemory.AlignedFree(bBuf); NativeMemory.AlignedFree(sBuf);
            // The kernel read these through raw pointers: a caller's temporary must not be finalised (and freed) before it ends.
            GC.KeepAlive(x); GC.KeepAlive(bias); GC.KeepAlive(scales);
        }
        return (direct ? y : y.to(outType)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// t's values as float32: its own data when it is contiguous float32, widened into <paramref name="owned"/> (a buffer the
    /// caller frees) when it is contiguous bf16, otherwise converted by libtorch (a tensor of the caller's dispose scope).
    /// </summary>
    static float* Float32Data(Tensor t, ref float* owned)
    {
        bool contiguous = t.is_contiguous();
        if (contiguous && t.dtype == ScalarType.Float32) return (float*)NativeTensor.DataPointer(t);
        if (!contiguous || t.dtype != ScalarType.BFloat16 || LibtorchConversions) return (float*)NativeTensor.DataPointer(t.to(ScalarType.Float32).contiguous());
        long count = t.NumberOfElements;
        owned = Alloc(count);
        Bf16ToFloat((ushort*)NativeTensor.DataPointer(t), owned, count);
        return owned;
    }

    static float* Alloc(long count) => (float*)NativeMemory.AlignedAlloc((nuint)(4 * Math.Max(1, count)), 64);

    /// <summary>bf16 → float32 (exact), <paramref name="count"/> values. Inlined: decode attention widens each key (a few
    /// vectors) through it, and as a call it made a bf16 cache's attention a quarter slower (`bench attention`).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Bf16ToFloat(ushort* src, float* dst, long count)
    {
        long i = 0;
        if (Avx512F.IsSupported)
            for (; i + 16 <= count; i += 16) Avx512F.Store(dst + i, Bf16ToFloat16(src + i));
        else if (Avx2.IsSupported)
            for (; i + 8 <= count; i += 8) Avx.Store(dst + i, Bf16ToFloat8(src + i));
        for (; i < count; i++) dst[i] = Bf16ToFloat(src[i]);
    }

    /// <summary>float32 → bf16, rounded to nearest even as libtorch converts (NaN stays NaN), <paramref name="count"/> values.</summary>
    internal static void FloatToBf16(ushort* dst, float* src, long count)
    {
        long i = 0;
        if (Avx512F.IsSupported)
            for (; i + 16 <= count; i += 16) Avx.Store(dst + i, FloatToBf16x16(Avx512F.LoadVector512(src + i)));
        else if (Avx2.IsSupported)
            for (; i + 8 <= count; i += 8) Sse2.Store(dst + i, FloatToBf16x8(Avx.LoadVector256(src + i)));
        for (; i < count; i++) dst[i] = FloatToBf16(src[i]);
    }

    /// <summary><see cref="FloatToBf16(ushort*, float*, long)"/> over spans (tests).</summary>
    internal static void FloatToBf16(ReadOnlySpan<float> src, Span<ushort> dst)
    {
        if (dst.Length < src.Length) throw new ArgumentException("the destination is shorter than the source");
        fixed (float* s = src) fixed (ushort* d = dst) FloatToBf16(d, s, src.Length);
    }

    /// <summary>16 float32 values → bf16 as <see cref="FloatToBf16(float)"/> does (AVX-512): rounded to nearest even, NaN → 0x7FC0.
    /// The kernels' outputs and the int8 and int4 dequantisers write bf16 through it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<ushort> FloatToBf16x16(Vector512<float> f)
    {
        var bits = f.AsUInt32();
        var rounded = (bits + Vector512.Create(0x7FFFu) + ((bits >> 16) & Vector512.Create(1u))) >> 16;
        var isNan = Vector512.GreaterThan(bits & Vector512.Create(0x7FFFFFFFu), Vector512.Create(0x7F800000u));
        return Avx512F.ConvertToVector256UInt16(Vector512.ConditionalSelect(isNan, Vector512.Create(0x7FC0u), rounded));
    }

    /// <summary>8 float32 values → bf16 as <see cref="FloatToBf16(float)"/> does (AVX2): rounded to nearest even, NaN → 0x7FC0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<ushort> FloatToBf16x8(Vector256<float> f)
    {
        var bits = f.AsUInt32();
        var rounded = Avx2.ShiftRightLogical(bits + Vector256.Create(0x7FFFu) + (Avx2.ShiftRightLogical(bits, 16) & Vector256.Create(1u)), 16);
        var isNan = Avx.CompareUnordered(f, f).AsUInt32();
        var r = Vector256.ConditionalSelect(isNan, Vector256.Create(0x7FC0u), rounded);
        return Vector128.Narrow(r.GetLower(), r.GetUpper());
    }

    /// <summary>Raw kernel: w is [n, k] of <paramref name="kind"/>, x [m, k] float32 (and, where not null, the same values as
    /// bf16 in <paramref name="xb"/>), y [m, n] float32.</summary>
    static void Run(byte* w, Weights kind, int n, int k, float* x, ushort* xb, int m, float* y, float* bias, float* scales)
    {
        if (m < 1 || m > MaxRows) throw new ArgumentException($"1 to {MaxRows} input rows, not {m}");
        bool int8 = kind == Weights.Int8, fp32 = kind == Weights.Fp32, int4 = kind == Weights.Int4;
        // Rows are streamed one at a time (one sequential stream per thread keeps the hardware prefetcher ahead; two or four
        // interleaved rows measured 30–40 % slower here), except when x is too large to stay in L1 (ff_out: 18944 columns,
        // 74 KB in float32): then re-reading x from L2 for every row is the bottleneck, and four rows share each load of x.
        bool four = 4L * k > WideX;
        // bf16 on AVX-512 reads x as its even and odd elements in the four-row blocks (see PairFma), which a batched step or
        // a wide x takes: from bf16 x as it is, whose 32-bit words hold those pairs as the weights' do (half the bytes of
        // float32, so four rows of 3584 stay in L1), or else from a float32 copy split once per call (SplitX). Single rows
        // read float32 x as it is.
        // With AVX2 only the same: a batch in blocks of 2 weight rows × 4 x rows (Bf16Block2x4Avx2), the wide x four rows at a
        // time (Bf16Dot4Avx2).
        // With AVX2 only, a single sequence's rows go four at a time too (Bf16Dot4Avx2), in the batched block's arithmetic, so
        // that a request's results are the same bits alone or batched (BatchInvariant).
        bool invariant = kind == Weights.Bf16 && BatchInvariant && !Bf16RowsWidened;
        bool pairs = kind == Weights.Bf16 && (Avx512F.IsSupported || Avx2.IsSupported && Fma.IsSupported) && (m > 1 || four || invariant);
        bool split = pairs && xb == null;
        // Prefetching 0 bytes ahead touches the line being read anyway: the baseline without changing the loops.
        int ahead = NoRowPrefetch ? 0 : int8 ? Int8RowPrefetch : int4 ? Int4RowPrefetch : Bf16RowPrefetch;
        long rowBytes = int4 ? k / 2 : (long)k * (int8 ? 1 : fp32 ? 4 : 2);
        // The four-row blocks' prefetch past the end of a row goes to the next block's row (see PrefetchBlock).
        long wrap = PrefetchWithinRows ? 0 : 3L * rowBytes;
        int blockAhead = NoRowPrefetch ? 0 : PrefetchAhead;
        float* xs = split ? (float*)NativeMemory.AlignedAlloc((nuint)(4L * m * k), 64) : null;
        // int8 multiplies integers: x rounded to 16 bits per block of columns (see Int8Dot16), once per call (AVX-512 or
        // AVX2). int4 always.
        bool int16 = int8 && Int16Products && !Int8FloatProducts || int4;
        int int4Group = int4 ? Int4Quantizer.GroupSize(k) : 0;   // columns per int4 scale
        int blocksPerRow = (k + QBlock - 1) / QBlock;
        // AVX2's int8 and int4 blocks for batched steps (int4: groups of 64), read here: the rows run on the kernel threads.
        bool intBlocksAvx2 = int16 && m > 1 && !Avx512BW.IsSupported && !IntBatchesRowByRow && (!int4 || int4Group == 64);
        short* xq = int16 ? (short*)NativeMemory.AlignedAlloc((nuint)(2L * m * k), 64) : null;
        float* xqScale = int16 ? (float*)NativeMemory.AlignedAlloc((nuint)(4L * m * blocksPerRow), 64) : null;
        try
        {
            if (int16)
                for (int i = 0; i < m; i++)
                {
                    QuantizeBlocks(x + (long)i * k, k, xq + (long)i * k, xqScale + (long)i * blocksPerRow);
                    if (int4Group == 64) Int4ArrangeX(xq + (long)i * k, k);
                }
            if (split)
                for (int i = 0; i < m; i++)
                {
                    float* src = x + (long)i * k, even = xs + (long)i * k, odd = even + k / 2;
                    for (int j = 0; j < k / 2; j++) { even[j] = src[2 * j]; odd[j] = src[2 * j + 1]; }
                }
            int blocks = (n + Block - 1) / Block;
            int threads = Math.Max(1, Math.Min(MaxThreads, blocks / 16));
            // int8's scales are per row (applied by Put); int4's per group (applied inside its kernel, gsp).
            nint wp = (nint)w, xp = (nint)x, xsp = (nint)xs, xbp = (nint)xb, yp = (nint)y, bp = (nint)bias, sp = int4 ? 0 : (nint)scales, xqp = (nint)xq, xsq = (nint)xqScale;
            nint gsp = int4 ? (nint)scales : 0;
            int groupsPerRow = int4 ? k / int4Group : 0;
            // Threads take chunks of about 1 MB of weights in turn rather than fixed halves: on a shared VM one core is often
            // slower than the other, and with fixed halves the step waits for the slow one. Smaller matrices get at least four
            // chunks per thread (a 1.5 MB matrix in two chunks of 1 MB and 0.5 MB would leave one thread idle half the time).
            long perThread = ((long)n + 4L * threads - 1) / (4L * threads);
            int chunk = (int)Math.Clamp(Math.Min((1L << 20) / rowBytes, perThread) / Block * Block, Block, (long)blocks * Block);
            KernelThreads.ForEach((n + chunk - 1) / chunk, threads, c => Rows(c * chunk, Math.Min(n, (c + 1) * chunk)));

            byte* Row(int r) => (byte*)wp + r * rowBytes;
            float* X(int i) => (float*)xp + (long)i * k;
            void Put(int i, int r, float dot) => ((float*)yp)[(long)i * n + r] = dot * (sp == 0 ? 1f : ((float*)sp)[r]) + (bp == 0 ? 0f : ((float*)bp)[r]);
            // Weight row r against x row i.
            float Dot(int r, int i) =>
                int8 ? Int8Dot((sbyte*)Row(r), X(i), k)
                : fp32 ? (Avx512F.IsSupported ? Dot<Fp32Weights>(Row(r), X(i), k) : Fp32DotAvx2((float*)Row(r), X(i), k))
                : Avx512F.IsSupported ? Bf16Dot((ushort*)Row(r), X(i), k, ahead)
                : invariant && xbp != 0 ? Bf16Dot1Avx2<Bf16X>((ushort*)Row(r), k, X(i), Bf16X.Row(xbp, k, i))
                : invariant ? Bf16Dot1Avx2<SplitX>((ushort*)Row(r), k, X(i), SplitX.Row(xsp, k, i))
                : Bf16DotAvx2((ushort*)Row(r), X(i), k);
            void Rows(int r0, int r1)
            {
                if (intBlocksAvx2) { RowsOfBatchInt16Avx2(r0, r1); return; }
                if (int4) { RowsInt4(r0, r1); return; }
                if (int16) { RowsInt16(r0, r1); return; }
                if (m > 1 && (Avx512F.IsSupported || pairs)) { RowsOfBatch(r0, r1); return; }   // (AVX2: bf16 only)
                var d = stackalloc float[Block];
                int step = four || invariant ? Block : 1;
                for (int r = r0; r < r1; r += step)
                {
                    int rows = Math.Min(step, r1 - r);
                    for (int i = 0; i < m; i++)
                    {
                        if (rows < Block) { for (int q = 0; q < rows; q++) Put(i, r + q, Dot(r + q, i)); continue; }
                        if (int8) Int8Dot4((sbyte*)Row(r), k, X(i), d, wrap);
                        else if (fp32) Dot4<Fp32Weights>(Row(r), k, X(i), d, wrap);
                        else if (pairs && xbp != 0) Bf16Dot4<Bf16X>((ushort*)Row(r), k, X(i), Bf16X.Row(xbp, k, i), d, blockAhead, wrap);
                        else if (pairs) Bf16Dot4<SplitX>((ushort*)Row(r), k, X(i), SplitX.Row(xsp, k, i), d, blockAhead, wrap);
                        else for (int q = 0; q < Block; q++) d[q] = Dot(r + q, i);
                        for (int q = 0; q < Block; q++) Put(i, r + q, d[q]);
                    }
                }
            }
            // Several input rows (a batched decode step): blocks of weight rows × 4 input rows, so each weight vector is
            // converted once per 4 input rows and each load of x serves every weight row of the block: 4 weight rows with
            // AVX-512 (Block4, Bf16Block4), 2 with AVX2 (bf16 only, Bf16Block2x4Avx2: its 16 registers hold 8 accumulators,
            // the two rows' even and odd halves and one x row's pair), the rows staying in cache for every group of 4 x rows.
            void RowsOfBatch(int r0, int r1)
            {
                int width = Avx512F.IsSupported ? 4 : 2;
                var d4 = stackalloc float[4 * 4];
                int r = r0;
                for (; r + width <= r1; r += width)
                    for (int g = 0; g < m; g += 4)
                    {
                        int count = Math.Min(4, m - g);
                        if (int8) Block4<Int8Weights>(Row(r), k, X(g), count, d4, wrap);
                        else if (fp32) Block4<Fp32Weights>(Row(r), k, X(g), count, d4, wrap);
                        else if (xbp != 0) Bf16Block<Bf16X>((ushort*)Row(r), k, X(g), Bf16X.Row(xbp, k, g), count, d4, wrap, rowBytes);
                        else Bf16Block<SplitX>((ushort*)Row(r), k, X(g), SplitX.Row(xsp, k, g), count, d4, wrap, rowBytes);
                        for (int q = 0; q < count; q++)
                            for (int t = 0; t < width; t++) Put(g + q, r + t, d4[q * width + t]);
                    }
                // The last weight rows short of a block, one x row at a time.
                for (; r < r1; r++)
                    for (int i = 0; i < m; i++) Put(i, r, Dot(r, i));
            }
            // A batched int8 or int4 step with AVX2: each weight row against the x rows 4 at a time (IntBlock1x4Avx2: 16
            // registers hold one row's unpacked weights and the accumulators of 4 x rows), the same bits for a row as the
            // single-row loops below.
            void RowsOfBatchInt16Avx2(int r0, int r1)
            {
                var d4 = stackalloc float[4];
                for (int r = r0; r < r1; r++)
                {
                    float* ws = int4 ? (float*)gsp + (long)r * groupsPerRow : null;   // the row's int4 scales
                    for (int g = 0; g < m; g += 4)
                    {
                        int count = Math.Min(4, m - g);
                        IntBlock1x4Avx2(int4, Row(r), k, (short*)xqp + (long)g * k, (float*)xsq + (long)g * blocksPerRow, blocksPerRow, ws, count, d4, ahead);
                        for (int q = 0; q < count; q++) Put(g + q, r, d4[q]);
                    }
                }
            }
            // int4 × 16-bit x: blocks of 4 weight rows × up to 4 x rows for batched steps (groups of 64, AVX-512), single rows
            // otherwise; both give the same bits for a row. (AVX2 batches: RowsOfBatchInt16Avx2.)
            void RowsInt4(int r0, int r1)
            {
                var d4 = stackalloc float[4 * 4];
                short* Xq(int i) => (short*)xqp + (long)i * k;
                float* Xs(int i) => (float*)xsq + (long)i * blocksPerRow;
                float* Gs(int r) => (float*)gsp + (long)r * groupsPerRow;
                int r = r0;
                if (m > 1 && int4Group == 64 && Int4Avx512)
                    for (; r + 4 <= r1; r += 4)
                        for (int g = 0; g < m; g += 4)
                        {
                            int count = Math.Min(4, m - g);
                            Int4Block4(Row(r), rowBytes, k, Xq(g), Xs(g), blocksPerRow, Gs(r), groupsPerRow, count, d4, wrap);
                            for (int q = 0; q < count; q++)
                                for (int t = 0; t < 4; t++) Put(g + q, r + t, d4[q * 4 + t]);
                        }
                for (; r < r1; r++)
                    for (int i = 0; i < m; i++) Put(i, r, Int4Dot16(Row(r), k, int4Group, Xq(i), Xs(i), Gs(r), ahead));
            }
            // int8 × 16-bit x: blocks of 4 weight rows × up to 4 x rows for batched steps and for x too wide for L1 next to
            // one weight stream (AVX-512); otherwise one row at a time (AVX2 batches: RowsOfBatchInt16Avx2). Each sums the same
            // integers in the same lanes and scales them in the same order as the single-row loop of its instruction set, so a
            // row's result does not depend on the path, the batch or the thread split.
            void RowsInt16(int r0, int r1)
            {
                var d4 = stackalloc float[4 * 4];
                short* Xq(int i) => (short*)xqp + (long)i * k;
                float* Xs(int i) => (float*)xsq + (long)i * blocksPerRow;
                int r = r0;
                if ((m > 1 || 2L * k > WideX) && Avx512BW.IsSupported)
                    for (; r + 4 <= r1; r += 4)
                        for (int g = 0; g < m; g += 4)
                        {
                            int count = Math.Min(4, m - g);
                            Int16Block4((sbyte*)Row(r), k, Xq(g), Xs(g), blocksPerRow, count, d4, wrap);
                            for (int q = 0; q < count; q++)
                                for (int t = 0; t < 4; t++) Put(g + q, r + t, d4[q * 4 + t]);
                        }
                for (; r < r1; r++)
                    for (int i = 0; i < m; i++) Put(i, r, Int8Dot16((sbyte*)Row(r), Xq(i), Xs(i), k, ahead));
            }
        }
        finally
        {
            if (xs != null) NativeMemory.AlignedFree(xs);
            if (xq != null) NativeMemory.AlignedFree(xq);
            if (xqScale != null) NativeMemory.AlignedFree(xqScale);
        }
    }

    /// <summary>Width (bytes of float32 x) above which x no longer stays in the 32 KB L1 next to the weight stream.</summary>
    const long WideX = 24 * 1024;

    /// <summary>
    /// Σ_j W[j]·x[j] over one bf16 row of <paramref name="len"/> values: 16 values at a time widened to float32 (a bf16 value
    /// is the top half of a float32: zero-extend to 32 bits, shift left by 16), four accumulators over 64 values a step,
    /// fetched <paramref name="ahead"/> bytes ahead (<see cref="Bf16RowPrefetch"/>). Reading the row as 32-bit pairs against
    /// x split into its even and odd elements instead, as the four-row blocks do (<see cref="Bf16Dot4"/>), saves the widening
    /// shuffle (and one weight load in two) but reads x from two arrays; alone in a thread's stream it read 4–7 % less, for
    /// reasons not pinned down (43–44 against 45–47 GB/s in 40 alternating passes over 12 layers of 7B-D's matrices, a plain
    /// read loop at 44–47; docs/benchmarks.md, "single rows prefetched").
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static float Bf16Dot(ushort* w, float* x, int len, int ahead)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int j = 0;
        for (; j + 64 <= len; j += 64)
        {
            byte* next = (byte*)(w + j) + ahead;
            Sse.Prefetch0(next); Sse.Prefetch0(next + 64);
            a0 = Avx512F.FusedMultiplyAdd(Bf16ToFloat16(w + j), Avx512F.LoadVector512(x + j), a0);
            a1 = Avx512F.FusedMultiplyAdd(Bf16ToFloat16(w + j + 16), Avx512F.LoadVector512(x + j + 16), a1);
            a2 = Avx512F.FusedMultiplyAdd(Bf16ToFloat16(w + j + 32), Avx512F.LoadVector512(x + j + 32), a2);
            a3 = Avx512F.FusedMultiplyAdd(Bf16ToFloat16(w + j + 48), Avx512F.LoadVector512(x + j + 48), a3);
        }
        for (; j + 16 <= len; j += 16) a0 = Avx512F.FusedMultiplyAdd(Bf16ToFloat16(w + j), Avx512F.LoadVector512(x + j), a0);
        float s = Vector512.Sum((a0 + a1) + (a2 + a3));
        for (; j < len; j++) s += Bf16ToFloat(w[j]) * x[j];
        return s;
    }

    /// <summary>
    /// How far ahead (bytes) a single bf16 row is prefetched. One stream per thread, yet the hardware prefetcher alone kept it
    /// about 10 % below the read loop (`gemv --rows 1`: 40.2–45.7 GB/s without, 43.8–48.2 with; 7B-D decode 3.00 → 3.09
    /// tok/s in alternating rounds; docs/benchmarks.md, "single rows prefetched"; 3 KB ahead was no better).
    /// </summary>
    const int Bf16RowPrefetch = 2048;

    /// <summary>
    /// Four consecutive bf16 rows (row stride <paramref name="k"/>) against one x, each load of x serving all four: ff_out's
    /// rows in a single sequence's step. Each row is fetched <paramref name="ahead"/> bytes ahead (<see cref="PrefetchAhead"/>,
    /// as the batched blocks do; 0: the baseline, see <see cref="NoRowPrefetch"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static void Bf16Dot4<TX>(ushort* w, long k, float* x, nint xp, float* d, int ahead, long wrap) where TX : struct, IXPairs
    {
        if (!Avx512F.IsSupported) { Bf16Dot4Avx2<TX>(w, k, x, xp, d, ahead, wrap); return; }
        int len = (int)k, body = len / 32 * 16;
        uint* w0 = (uint*)w, w1 = (uint*)(w + k), w2 = (uint*)(w + 2 * k), w3 = (uint*)(w + 3 * k);
        Vector512<float> e0 = default, o0 = default, e1 = default, o1 = default, e2 = default, o2 = default, e3 = default, o3 = default;
        for (int j = 0; j < body; j += 16)
        {
            PrefetchBlock((byte*)w, 2 * k, 4L * j, ahead, wrap);
            var (ve, vo) = TX.Load(xp, k, j);
            (e0, o0) = PairFma(Avx512F.LoadVector512(w0 + j), ve, vo, e0, o0);
            (e1, o1) = PairFma(Avx512F.LoadVector512(w1 + j), ve, vo, e1, o1);
            (e2, o2) = PairFma(Avx512F.LoadVector512(w2 + j), ve, vo, e2, o2);
            (e3, o3) = PairFma(Avx512F.LoadVector512(w3 + j), ve, vo, e3, o3);
        }
        d[0] = Vector512.Sum(e0 + o0); d[1] = Vector512.Sum(e1 + o1); d[2] = Vector512.Sum(e2 + o2); d[3] = Vector512.Sum(e3 + o3);
        for (int q = 0; q < 4; q++)
            for (int j = 2 * body; j < len; j++) d[q] += Bf16ToFloat(w[q * k + j]) * x[j];
    }

    /// <summary>
    /// <see cref="Bf16Dot4{TX}"/> with AVX2: 8 pairs a step, each row in the arithmetic of the batched block
    /// (<see cref="Bf16Block2x4Avx2{TM, TX}"/>: one accumulator a row, <see cref="PairStep"/>, the same tail), so that a row
    /// gets the same bits here as in a batch. Each row's accumulator is one chain of two dependent FMAs a step; the four rows
    /// keep four chains going (128 bytes of weights per two FMA latencies, well above what DRAM gives a core), and read
    /// 1.18–1.30× as fast as one row at a time widened against float32 x on a Zen 3 (`gemv --rows 1`, the baseline
    /// <see cref="Bf16RowsWidened"/>). Reading each weight row by
    /// widening against float32 x instead, one row at a time, re-read x (74 KB for ff_out) from L2 for every row: 24 against
    /// 40–50 GB/s for the other matrices (`gemv` with DOTNET_EnableAVX512=0).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static void Bf16Dot4Avx2<TX>(ushort* w, long k, float* x, nint xp, float* d, int ahead, long wrap) where TX : struct, IXPairs
    {
        int len = (int)k, body = len / 16 * 8;    // pairs handled by vectors, as in Bf16Block2x4Avx2
        uint* w0 = (uint*)w, w1 = (uint*)(w + k), w2 = (uint*)(w + 2 * k), w3 = (uint*)(w + 3 * k);
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int j = 0; j < body; j += 8)
        {
            if ((j & 15) == 0) PrefetchBlock((byte*)w, 2 * k, 4L * j, ahead, wrap);
            var xj = TX.Load8(xp, k, j);
            a0 = PairStep(Avx.LoadVector256(w0 + j), xj, a0);
            a1 = PairStep(Avx.LoadVector256(w1 + j), xj, a1);
            a2 = PairStep(Avx.LoadVector256(w2 + j), xj, a2);
            a3 = PairStep(Avx.LoadVector256(w3 + j), xj, a3);
        }
        d[0] = Vector256.Sum(a0); d[1] = Vector256.Sum(a1); d[2] = Vector256.Sum(a2); d[3] = Vector256.Sum(a3);
        for (int q = 0; q < 4; q++)
            for (int j = 2 * body; j < len; j++) d[q] += Bf16ToFloat(w[q * k + j]) * x[j];
    }

    /// <summary>
    /// One bf16 row in the batched block's arithmetic (see <see cref="Bf16Dot4Avx2{TX}"/>): the rows of a matrix short of a
    /// block of four (or of two, in a batch). A single chain of two dependent FMAs a step, slower than a block, but a matrix
    /// has at most three such rows.
    /// </summary>
    static float Bf16Dot1Avx2<TX>(ushort* w, long k, float* x, nint xp) where TX : struct, IXPairs
    {
        int len = (int)k, body = len / 16 * 8;
        Vector256<float> a = default;
        for (int j = 0; j < body; j += 8) a = PairStep(Avx.LoadVector256((uint*)w + j), TX.Load8(xp, k, j), a);
        float s = Vector256.Sum(a);
        for (int j = 2 * body; j < len; j++) s += Bf16ToFloat(w[j]) * x[j];
        return s;
    }

    /// <summary>
    /// The step of every AVX2 bf16 path that reads pairs: 8 pairs of weights (one 32-byte load) against 8 pairs of x into one
    /// accumulator, the even products first: a + w_even·x_even, then + w_odd·x_odd, each rounded once (FMA). Single rows and
    /// batched blocks all take it, so a row's sum is the same in each.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> PairStep(Vector256<uint> w, (Vector256<float> E, Vector256<float> O) x, Vector256<float> a)
    {
        var (l, h) = Pairs(w);
        return PairStep(l, h, x, a);
    }

    /// <summary><see cref="PairStep(Vector256{uint}, ValueTuple{Vector256{float}, Vector256{float}}, Vector256{float})"/> for
    /// weights already split into their even (<paramref name="l"/>) and odd (<paramref name="h"/>) halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> PairStep(Vector256<float> l, Vector256<float> h, (Vector256<float> E, Vector256<float> O) x, Vector256<float> a) =>
        Fma.MultiplyAdd(h, x.O, Fma.MultiplyAdd(l, x.E, a));

    /// <summary>
    /// 32-bit words each holding a pair of bf16 values → the pairs' first (even) and second (odd) values as float32, exactly:
    /// a bf16 value is the top half of a float32, so (word &lt;&lt; 16) is the low one and (word &amp; 0xFFFF0000) the high one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector512<float> Even, Vector512<float> Odd) Pairs(Vector512<uint> words) =>
        (Avx512F.ShiftLeftLogical(words, 16).AsSingle(), Avx512F.And(words, Vector512.Create(0xFFFF0000u)).AsSingle());

    /// <summary><see cref="Pairs(Vector512{uint})"/> for 8 words (AVX2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector256<float> Even, Vector256<float> Odd) Pairs(Vector256<uint> words) =>
        (Avx2.ShiftLeftLogical(words, 16).AsSingle(), Avx2.And(words, Vector256.Create(0xFFFF0000u)).AsSingle());

    /// <summary>
    /// One 64-byte bf16 vector (32 weights as 16 pairs) into the even and odd accumulators. The 32-bit word at pair j holds
    /// W[2j] in its low half and W[2j+1] in its high half, and a bf16 value is the top half of a float32: (word &lt;&lt; 16) is
    /// W[2j] and (word &amp; 0xFFFF0000) is W[2j+1], exactly, as float32. Against x split into its even and odd elements, 64
    /// bytes of weights cost one load, one shift, one AND and two FMAs, with no widening shuffles; each x load then serves the
    /// four rows of a block.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector512<float> E, Vector512<float> O) PairFma(Vector512<uint> w, Vector512<float> xe, Vector512<float> xo, Vector512<float> e, Vector512<float> o)
    {
        var (we, wo) = Pairs(w);
        return (Avx512F.FusedMultiplyAdd(we, xe, e), Avx512F.FusedMultiplyAdd(wo, xo, o));
    }

    /// <summary>Four consecutive int8 rows against one x, each load of x serving all four.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static void Int8Dot4(sbyte* w, long k, float* x, float* d, long wrap)
    {
        if (Avx512F.IsSupported) { Dot4<Int8Weights>((byte*)w, k, x, d, wrap); return; }
        int len = (int)k, j = 0;
        sbyte* w0 = w, w1 = w + k, w2 = w + 2 * k, w3 = w + 3 * k;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        // (Without AVX2 and FMA, as in Bf16DotAvx2, the scalar loop below does it all.)
        for (; Avx2.IsSupported && Fma.IsSupported && j + 8 <= len; j += 8)
        {
            var v = Avx.LoadVector256(x + j);
            a0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(w0 + j)), v, a0);
            a1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(w1 + j)), v, a1);
            a2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(w2 + j)), v, a2);
            a3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(w3 + j)), v, a3);
        }
        d[0] = Vector256.Sum(a0); d[1] = Vector256.Sum(a1); d[2] = Vector256.Sum(a2); d[3] = Vector256.Sum(a3);
        for (int q = 0; q < 4; q++)
            for (int jj = j; jj < len; jj++) d[q] += w[q * k + jj] * x[jj];
    }

    /// <summary>bf16 without AVX-512, one row widened eight values at a time: single rows before they took the batched blocks'
    /// arithmetic (the baseline <see cref="Bf16RowsWidened"/>), and the scalar route without AVX2 and FMA.</summary>
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
                a0 = Fma.MultiplyAdd(Bf16ToFloat8(w + j), Avx.LoadVector256(x + j), a0);
                a1 = Fma.MultiplyAdd(Bf16ToFloat8(w + j + 8), Avx.LoadVector256(x + j + 8), a1);
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
        if (Avx512F.IsSupported) return Dot<Int8Weights>((byte*)row, x, len);
        int j = 0;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (; Avx2.IsSupported && Fma.IsSupported && j + 32 <= len; j += 32)   // (else the scalar loop below)
        {
            a0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + j)), Avx.LoadVector256(x + j), a0);
            a1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + j + 8)), Avx.LoadVector256(x + j + 8), a1);
            a2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + j + 16)), Avx.LoadVector256(x + j + 16), a2);
            a3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + j + 24)), Avx.LoadVector256(x + j + 24), a3);
        }
        float s = Vector256.Sum((a0 + a1) + (a2 + a3));
        for (; j < len; j++) s += row[j] * x[j];
        return s;
    }

    /// <summary>One int8 or float32 row (AVX-512): four independent accumulators over 64 columns a step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static float Dot<TW>(byte* row, float* x, int len) where TW : struct, IWeightVectors
    {
        int j = 0;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (; j + 64 <= len; j += 64)
        {
            byte* p = row + (long)j * TW.Bytes;
            a0 = Avx512F.FusedMultiplyAdd(TW.Load16(p), Avx512F.LoadVector512(x + j), a0);
            a1 = Avx512F.FusedMultiplyAdd(TW.Load16(p + 16 * TW.Bytes), Avx512F.LoadVector512(x + j + 16), a1);
            a2 = Avx512F.FusedMultiplyAdd(TW.Load16(p + 32 * TW.Bytes), Avx512F.LoadVector512(x + j + 32), a2);
            a3 = Avx512F.FusedMultiplyAdd(TW.Load16(p + 48 * TW.Bytes), Avx512F.LoadVector512(x + j + 48), a3);
        }
        float s = Vector512.Sum((a0 + a1) + (a2 + a3));
        for (; j < len; j++) s += TW.At(row, j) * x[j];
        return s;
    }

    /// <summary>
    /// Four consecutive int8 or float32 rows (row stride <paramref name="k"/>) against one x that does not fit in L1, each load
    /// of x serving all four. int8 rows are prefetched 1 KB ahead (gemv --matrix ff_out: 32–36 GB/s without, 36–47 with;
    /// float32 showed no gain).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static void Dot4<TW>(byte* w, long k, float* x, float* d, long wrap) where TW : struct, IWeightVectors
    {
        if (TW.Bytes == 4 && !Avx512F.IsSupported) { Fp32Dot4Avx2((float*)w, k, x, d); return; }   // (int8 has Int8Dot4)
        int len = (int)k, j = 0;
        long rowBytes = k * TW.Bytes;
        byte* w0 = w, w1 = w + rowBytes, w2 = w + 2 * rowBytes, w3 = w + 3 * rowBytes;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (; j + 16 <= len; j += 16)
        {
            long at = (long)j * TW.Bytes;
            if (TW.Bytes == 1 && (j & 63) == 0) PrefetchBlock(w, rowBytes, at, PrefetchAhead, wrap);
            (a0, a1, a2, a3) = Fma4(Avx512F.LoadVector512(x + j), TW.Load16(w0 + at), TW.Load16(w1 + at), TW.Load16(w2 + at), TW.Load16(w3 + at), a0, a1, a2, a3);
        }
        Store4(d, a0, a1, a2, a3);
        for (int q = 0; q < 4; q++)
            for (int jj = j; jj < len; jj++) d[q] += TW.At(w + q * rowBytes, jj) * x[jj];
    }

    /// <summary>One float32 row with AVX2: four accumulators over 32 columns a step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static float Fp32DotAvx2(float* w, float* x, int len)
    {
        int j = 0;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (; j + 32 <= len; j += 32)
        {
            a0 = Fma.MultiplyAdd(Avx.LoadVector256(w + j), Avx.LoadVector256(x + j), a0);
            a1 = Fma.MultiplyAdd(Avx.LoadVector256(w + j + 8), Avx.LoadVector256(x + j + 8), a1);
            a2 = Fma.MultiplyAdd(Avx.LoadVector256(w + j + 16), Avx.LoadVector256(x + j + 16), a2);
            a3 = Fma.MultiplyAdd(Avx.LoadVector256(w + j + 24), Avx.LoadVector256(x + j + 24), a3);
        }
        for (; j + 8 <= len; j += 8) a0 = Fma.MultiplyAdd(Avx.LoadVector256(w + j), Avx.LoadVector256(x + j), a0);
        float s = Vector256.Sum((a0 + a1) + (a2 + a3));
        for (; j < len; j++) s += w[j] * x[j];
        return s;
    }

    /// <summary>Four float32 rows against one x too wide for L1 (AVX2), each load of x serving all four, two steps of 8 a
    /// loop (eight FMA chains).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static void Fp32Dot4Avx2(float* w, long k, float* x, float* d)
    {
        int len = (int)k, j = 0;
        float* w0 = w, w1 = w + k, w2 = w + 2 * k, w3 = w + 3 * k;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        for (; j + 16 <= len; j += 16)
        {
            var v = Avx.LoadVector256(x + j);
            var u = Avx.LoadVector256(x + j + 8);
            a0 = Fma.MultiplyAdd(Avx.LoadVector256(w0 + j), v, a0); b0 = Fma.MultiplyAdd(Avx.LoadVector256(w0 + j + 8), u, b0);
            a1 = Fma.MultiplyAdd(Avx.LoadVector256(w1 + j), v, a1); b1 = Fma.MultiplyAdd(Avx.LoadVector256(w1 + j + 8), u, b1);
            a2 = Fma.MultiplyAdd(Avx.LoadVector256(w2 + j), v, a2); b2 = Fma.MultiplyAdd(Avx.LoadVector256(w2 + j + 8), u, b2);
            a3 = Fma.MultiplyAdd(Avx.LoadVector256(w3 + j), v, a3); b3 = Fma.MultiplyAdd(Avx.LoadVector256(w3 + j + 8), u, b3);
        }
        d[0] = Vector256.Sum(a0 + b0); d[1] = Vector256.Sum(a1 + b1); d[2] = Vector256.Sum(a2 + b2); d[3] = Vector256.Sum(a3 + b3);
        for (int q = 0; q < 4; q++)
            for (int jj = j; jj < len; jj++) d[q] += w[q * k + jj] * x[jj];
    }

    /// <summary>Four int8 or float32 weight rows (stride <paramref name="k"/>) against <paramref name="count"/> (1–4) x rows: d[q·4 + t].</summary>
    static void Block4<TW>(byte* w, int k, float* x, int count, float* d, long wrap) where TW : struct, IWeightVectors
    {
        switch (count)
        {
            case 1: Block4<TW, R1>(w, k, x, d, wrap); break;
            case 2: Block4<TW, R2>(w, k, x, d, wrap); break;
            case 3: Block4<TW, R3>(w, k, x, d, wrap); break;
            default: Block4<TW, R4>(w, k, x, d, wrap); break;
        }
    }

    /// <summary>
    /// The register block for batched steps: 4 weight rows × up to 4 x rows, 16 accumulators. Each weight vector (converted
    /// from int8, or loaded as float32) serves every x row and each x load serves all four weight rows. (With one weight row
    /// against eight x rows, the x rows — 57 KB at 3584 columns — no longer fit in L1 and the kernel ran at the speed of L2, a
    /// third of this.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static void Block4<TW, TM>(byte* w, int k, float* x, float* d, long wrap) where TW : struct, IWeightVectors where TM : struct, IRowCount
    {
        long rowBytes = (long)k * TW.Bytes;
        byte* w0 = w, w1 = w + rowBytes, w2 = w + 2 * rowBytes, w3 = w + 3 * rowBytes;
        float* x0 = x, x1 = x + k, x2 = x + 2L * k, x3 = x + 3L * k;
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default, a30 = default, a31 = default, a32 = default, a33 = default;
        int j = 0;
        for (; j + 16 <= k; j += 16)
        {
            long at = (long)j * TW.Bytes;
            if ((at & 63) == 0) PrefetchBlock(w, rowBytes, at, PrefetchAhead, wrap);
            var c0 = TW.Load16(w0 + at); var c1 = TW.Load16(w1 + at); var c2 = TW.Load16(w2 + at); var c3 = TW.Load16(w3 + at);
            (a00, a01, a02, a03) = Fma4(Avx512F.LoadVector512(x0 + j), c0, c1, c2, c3, a00, a01, a02, a03);
            if (TM.N > 1) (a10, a11, a12, a13) = Fma4(Avx512F.LoadVector512(x1 + j), c0, c1, c2, c3, a10, a11, a12, a13);
            if (TM.N > 2) (a20, a21, a22, a23) = Fma4(Avx512F.LoadVector512(x2 + j), c0, c1, c2, c3, a20, a21, a22, a23);
            if (TM.N > 3) (a30, a31, a32, a33) = Fma4(Avx512F.LoadVector512(x3 + j), c0, c1, c2, c3, a30, a31, a32, a33);
        }
        StoreBlock<TM>(d, a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33);
        for (int q = 0; q < TM.N; q++)
            for (int t = 0; t < 4; t++)
                for (int jj = j; jj < k; jj++) d[q * 4 + t] += TW.At(w + t * rowBytes, jj) * x[(long)q * k + jj];
    }

    /// <summary>How a weight format becomes float32 vectors in <see cref="Dot{TW}"/>, <see cref="Dot4{TW}"/> and <see cref="Block4{TW}"/>.</summary>
    interface IWeightVectors
    {
        static abstract int Bytes { get; }
        /// <summary>16 weights from <paramref name="p"/> as float32.</summary>
        static abstract Vector512<float> Load16(byte* p);
        /// <summary>Weight <paramref name="j"/> of the row at <paramref name="row"/>.</summary>
        static abstract float At(byte* row, int j);
    }

    readonly struct Int8Weights : IWeightVectors
    {
        public static int Bytes => 1;
        public static Vector512<float> Load16(byte* p) => Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Sse2.LoadVector128((sbyte*)p)));
        public static float At(byte* row, int j) => ((sbyte*)row)[j];
    }

    readonly struct Fp32Weights : IWeightVectors
    {
        public static int Bytes => 4;
        public static Vector512<float> Load16(byte* p) => Avx512F.LoadVector512((float*)p);
        public static float At(byte* row, int j) => ((float*)row)[j];
    }

    /// <summary>A block of bf16 weight rows against <paramref name="count"/> (1–4) x rows, float32 (x) and as pairs (xp, see
    /// <see cref="IXPairs"/>): 4 weight rows with AVX-512 (<see cref="Bf16Block4{TM, TX}"/>, d[q·4 + t]), 2 with AVX2
    /// (<see cref="Bf16Block2x4Avx2{TM, TX}"/>, d[q·2 + t]).</summary>
    static void Bf16Block<TX>(ushort* w, int k, float* x, nint xp, int count, float* d, long wrap, long rowBytes) where TX : struct, IXPairs
    {
        bool avx512 = Avx512F.IsSupported;
        switch (count)
        {
            case 1: if (avx512) Bf16Block4<R1, TX>(w, k, x, xp, d, wrap); else Bf16Block2x4Avx2<R1, TX>(w, k, x, xp, d, rowBytes); break;
            case 2: if (avx512) Bf16Block4<R2, TX>(w, k, x, xp, d, wrap); else Bf16Block2x4Avx2<R2, TX>(w, k, x, xp, d, rowBytes); break;
            case 3: if (avx512) Bf16Block4<R3, TX>(w, k, x, xp, d, wrap); else Bf16Block2x4Avx2<R3, TX>(w, k, x, xp, d, rowBytes); break;
            default: if (avx512) Bf16Block4<R4, TX>(w, k, x, xp, d, wrap); else Bf16Block2x4Avx2<R4, TX>(w, k, x, xp, d, rowBytes); break;
        }
    }

    /// <summary>
    /// Where the bf16 blocks read x's even and odd elements (see <see cref="PairFma"/>) as float32 vectors: 16 pairs from
    /// pair <c>j</c> of the x row at <c>p</c> (rows of <c>k</c> elements, row q at <see cref="Row"/>).
    /// </summary>
    interface IXPairs
    {
        static abstract nint Row(nint x, long k, int q);
        static abstract (Vector512<float> Even, Vector512<float> Odd) Load(nint p, long k, int j);
        /// <summary>8 pairs from pair <c>j</c> (AVX2).</summary>
        static abstract (Vector256<float> Even, Vector256<float> Odd) Load8(nint p, long k, int j);
    }

    /// <summary>float32 x split per row into its even elements, then its odd ones (k / 2 each; an odd last column is left to the tail).</summary>
    readonly struct SplitX : IXPairs
    {
        public static nint Row(nint x, long k, int q) => x + 4 * q * (nint)k;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static (Vector512<float> Even, Vector512<float> Odd) Load(nint p, long k, int j) =>
            (Avx512F.LoadVector512((float*)p + j), Avx512F.LoadVector512((float*)p + k / 2 + j));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static (Vector256<float> Even, Vector256<float> Odd) Load8(nint p, long k, int j) =>
            (Avx.LoadVector256((float*)p + j), Avx.LoadVector256((float*)p + k / 2 + j));
    }

    /// <summary>bf16 x as it is: each 32-bit word holds an even and an odd element, widened exactly as the weights' pairs are.</summary>
    readonly struct Bf16X : IXPairs
    {
        public static nint Row(nint x, long k, int q) => x + 2 * q * (nint)k;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static (Vector512<float> Even, Vector512<float> Odd) Load(nint p, long k, int j) => Pairs(Avx512F.LoadVector512((uint*)p + j));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static (Vector256<float> Even, Vector256<float> Odd) Load8(nint p, long k, int j) => Pairs(Avx.LoadVector256((uint*)p + j));
    }

    /// <summary>
    /// The bf16 register block for batched steps: 4 weight rows × up to 4 x rows. Each 64-byte load of a weight row is split
    /// into its even and odd halves once (see <see cref="PairFma"/>); both halves go into one accumulator per (row, x row).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static void Bf16Block4<TM, TX>(ushort* w, int k, float* x, nint xp, float* d, long wrap) where TM : struct, IRowCount where TX : struct, IXPairs
    {
        uint* w0 = (uint*)w, w1 = (uint*)(w + k), w2 = (uint*)(w + 2L * k), w3 = (uint*)(w + 3L * k);
        nint x0 = TX.Row(xp, k, 0), x1 = TX.Row(xp, k, 1), x2 = TX.Row(xp, k, 2), x3 = TX.Row(xp, k, 3);
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default, a30 = default, a31 = default, a32 = default, a33 = default;
        int body = k / 32 * 16;    // pairs handled by vectors
        for (int j = 0; j < body; j += 16)
        {
            PrefetchBlock((byte*)w, 2L * k, 4L * j, PrefetchAhead, wrap);
            var p0 = Avx512F.LoadVector512(w0 + j); var p1 = Avx512F.LoadVector512(w1 + j);
            var p2 = Avx512F.LoadVector512(w2 + j); var p3 = Avx512F.LoadVector512(w3 + j);
            var (l0, h0) = Pairs(p0); var (l1, h1) = Pairs(p1);
            var (l2, h2) = Pairs(p2); var (l3, h3) = Pairs(p3);
            (a00, a01, a02, a03) = PairFma4(TX.Load(x0, k, j), l0, h0, l1, h1, l2, h2, l3, h3, a00, a01, a02, a03);
            if (TM.N > 1) (a10, a11, a12, a13) = PairFma4(TX.Load(x1, k, j), l0, h0, l1, h1, l2, h2, l3, h3, a10, a11, a12, a13);
            if (TM.N > 2) (a20, a21, a22, a23) = PairFma4(TX.Load(x2, k, j), l0, h0, l1, h1, l2, h2, l3, h3, a20, a21, a22, a23);
            if (TM.N > 3) (a30, a31, a32, a33) = PairFma4(TX.Load(x3, k, j), l0, h0, l1, h1, l2, h2, l3, h3, a30, a31, a32, a33);
        }
        StoreBlock<TM>(d, a00, a01, a02, a03, a10, a11, a12, a13, a20, a21, a22, a23, a30, a31, a32, a33);
        for (int q = 0; q < TM.N; q++)
            for (int t = 0; t < 4; t++)
                for (int jj = 2 * body; jj < k; jj++) d[q * 4 + t] += Bf16ToFloat(w[(long)t * k + jj]) * x[(long)q * k + jj];
    }

    /// <summary>
    /// The AVX2 register block for batched bf16 steps: 2 weight rows × up to 4 x rows, 8 accumulators. Each 32-byte load of a
    /// weight row is split into its even and odd halves once (<see cref="Pairs(Vector256{uint})"/>) and serves every x row;
    /// each x load serves both weight rows. Both rows are fetched <see cref="PrefetchAhead"/> bytes ahead, running on into the
    /// next block's rows past the end. Row by row (each weight vector widened again for every x row, one FMA chain each),
    /// 7B-D's three matrices took 160 ms at 16 rows on a Zen 3; in this block 113 ms (`gemm`, docs/benchmarks.md).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // straight to optimised code: these loops are the decode step
    static void Bf16Block2x4Avx2<TM, TX>(ushort* w, int k, float* x, nint xp, float* d, long rowBytes) where TM : struct, IRowCount where TX : struct, IXPairs
    {
        uint* w0 = (uint*)w, w1 = (uint*)(w + k);
        nint x0 = TX.Row(xp, k, 0), x1 = TX.Row(xp, k, 1), x2 = TX.Row(xp, k, 2), x3 = TX.Row(xp, k, 3);
        Vector256<float> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
        int body = k / 16 * 8;    // pairs handled by vectors
        for (int j = 0; j < body; j += 8)
        {
            if ((j & 15) == 0)
            {
                long o = 4L * j + PrefetchAhead;
                byte* p = (byte*)w + o + (o >= rowBytes ? rowBytes : 0);
                Sse.Prefetch0(p); Sse.Prefetch0(p + rowBytes);
            }
            var (l0, h0) = Pairs(Avx.LoadVector256(w0 + j));
            var (l1, h1) = Pairs(Avx.LoadVector256(w1 + j));
            (a00, a01) = PairFma2(TX.Load8(x0, k, j), l0, h0, l1, h1, a00, a01);
            if (TM.N > 1) (a10, a11) = PairFma2(TX.Load8(x1, k, j), l0, h0, l1, h1, a10, a11);
            if (TM.N > 2) (a20, a21) = PairFma2(TX.Load8(x2, k, j), l0, h0, l1, h1, a20, a21);
            if (TM.N > 3) (a30, a31) = PairFma2(TX.Load8(x3, k, j), l0, h0, l1, h1, a30, a31);
        }
        d[0] = Vector256.Sum(a00); d[1] = Vector256.Sum(a01);
        if (TM.N > 1) { d[2] = Vector256.Sum(a10); d[3] = Vector256.Sum(a11); }
        if (TM.N > 2) { d[4] = Vector256.Sum(a20); d[5] = Vector256.Sum(a21); }
        if (TM.N > 3) { d[6] = Vector256.Sum(a30); d[7] = Vector256.Sum(a31); }
        for (int q = 0; q < TM.N; q++)
            for (int t = 0; t < 2; t++)
                for (int jj = 2 * body; jj < k; jj++) d[q * 2 + t] += Bf16ToFloat(w[(long)t * k + jj]) * x[(long)q * k + jj];
    }

    /// <summary>One x row's even and odd vectors against the low and high halves of two bf16 weight vectors (AVX2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector256<float>, Vector256<float>) PairFma2((Vector256<float> E, Vector256<float> O) x,
        Vector256<float> l0, Vector256<float> h0, Vector256<float> l1, Vector256<float> h1, Vector256<float> a0, Vector256<float> a1) =>
        (PairStep(l0, h0, x, a0), PairStep(l1, h1, x, a1));

    /// <summary>
    /// How far ahead (bytes) the four-row blocks prefetch each weight row. Four interleaved rows are four streams per thread,
    /// which the hardware prefetcher alone keeps fed at about 25 GB/s here; with this, 30–40 (docs/benchmarks.md, gemv).
    /// </summary>
    const int PrefetchAhead = 1024;

    /// <summary>
    /// The four-row blocks' software prefetch: for each row t of the block of four consecutive rows at <paramref name="w"/>
    /// (<paramref name="rowBytes"/> each), the line <paramref name="ahead"/> bytes past offset <paramref name="at"/> of row t;
    /// past the end of the row, with <paramref name="wrap"/> = 3 rows, the same line of the next block's row t, so that each
    /// block starts with its four rows on the way. A 7B-D row of 3584 bf16 values is 7 KB: kept inside the row (wrap 0,
    /// <see cref="PrefetchWithinRows"/>) the prefetch left every block's first kilobyte of each row to a cold start. Prefetches
    /// past the matrix are dropped by the CPU, never faults.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void PrefetchBlock(byte* w, long rowBytes, long at, int ahead, long wrap)
    {
        long o = at + ahead;
        byte* p = w + o + (o >= rowBytes ? wrap : 0);
        Sse.Prefetch0(p); Sse.Prefetch0(p + rowBytes); Sse.Prefetch0(p + 2 * rowBytes); Sse.Prefetch0(p + 3 * rowBytes);
    }

    /// <summary>One x vector into four accumulators, one per weight row of a block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector512<float>, Vector512<float>, Vector512<float>, Vector512<float>) Fma4(Vector512<float> x,
        Vector512<float> c0, Vector512<float> c1, Vector512<float> c2, Vector512<float> c3,
        Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3) =>
        (Avx512F.FusedMultiplyAdd(c0, x, a0), Avx512F.FusedMultiplyAdd(c1, x, a1), Avx512F.FusedMultiplyAdd(c2, x, a2), Avx512F.FusedMultiplyAdd(c3, x, a3));

    /// <summary>One x row's even and odd vectors against the low and high halves of four bf16 weight vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector512<float>, Vector512<float>, Vector512<float>, Vector512<float>) PairFma4((Vector512<float> E, Vector512<float> O) x,
        Vector512<float> l0, Vector512<float> h0, Vector512<float> l1, Vector512<float> h1,
        Vector512<float> l2, Vector512<float> h2, Vector512<float> l3, Vector512<float> h3,
        Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3) =>
        (Avx512F.FusedMultiplyAdd(h0, x.O, Avx512F.FusedMultiplyAdd(l0, x.E, a0)), Avx512F.FusedMultiplyAdd(h1, x.O, Avx512F.FusedMultiplyAdd(l1, x.E, a1)),
         Avx512F.FusedMultiplyAdd(h2, x.O, Avx512F.FusedMultiplyAdd(l2, x.E, a2)), Avx512F.FusedMultiplyAdd(h3, x.O, Avx512F.FusedMultiplyAdd(l3, x.E, a3)));

    /// <summary>The sums of a 4 × 4 block's accumulators into d[q·4 + t], for the TM x rows in use.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreBlock<TM>(float* d, Vector512<float> a00, Vector512<float> a01, Vector512<float> a02, Vector512<float> a03,
        Vector512<float> a10, Vector512<float> a11, Vector512<float> a12, Vector512<float> a13,
        Vector512<float> a20, Vector512<float> a21, Vector512<float> a22, Vector512<float> a23,
        Vector512<float> a30, Vector512<float> a31, Vector512<float> a32, Vector512<float> a33) where TM : struct, IRowCount
    {
        Store4(d, a00, a01, a02, a03);
        if (TM.N > 1) Store4(d + 4, a10, a11, a12, a13);
        if (TM.N > 2) Store4(d + 8, a20, a21, a22, a23);
        if (TM.N > 3) Store4(d + 12, a30, a31, a32, a33);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store4(float* d, Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> e)
    {
        d[0] = Vector512.Sum(a); d[1] = Vector512.Sum(b); d[2] = Vector512.Sum(c); d[3] = Vector512.Sum(e);
    }

    /// <summary>bf16 bits → float32 (exact: bf16 is the top half of a float32).</summary>
    internal static float Bf16ToFloat(ushort v) => BitConverter.Int32BitsToSingle(v << 16);

    /// <summary>16 bf16 values from <paramref name="p"/> as float32, as <see cref="Bf16ToFloat"/> (AVX-512).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> Bf16ToFloat16(ushort* p) => Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512Int32(Avx.LoadVector256(p)), 16).AsSingle();

    /// <summary>8 bf16 values from <paramref name="p"/> as float32 (AVX2): zero-extended to 32 bits and shifted to the top.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Bf16ToFloat8(ushort* p) => Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(p), 16).AsSingle();

    /// <summary>float32 → bf16 bits, rounded to nearest even; NaN → the quiet NaN 0x7FC0, as libtorch converts.</summary>
    internal static ushort FloatToBf16(float f)
    {
        if (float.IsNaN(f)) return 0x7FC0;
        uint bits = BitConverter.SingleToUInt32Bits(f);
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }
}
