using System.Runtime.Intrinsics.X86;
using static TorchSharp.torch;

namespace Molmo.Model;

/// <summary>
/// Prefill-sized products of bf16 weights (and of int8 and int4 weights) on CPUs where libtorch has no fast bf16 GEMM: the
/// weights widened to float32 a slice of rows at a time, each slice multiplied by libtorch's float32 GEMM. libtorch hands
/// bf16 products to oneDNN only on x86 CPUs with AVX-512 (BW, VL and DQ: its bf16 device check); elsewhere (AMD Zen 1–3,
/// most Intel client cores; some recent ones with AVX-NE-CONVERT may get oneDNN's AVX2 bf16 route, untested, and are widened
/// here too), it falls back to a loop of one dot product per output (<c>cpublas::gemm_transa_</c> →
/// <c>bf16_dot_with_fp32_arith</c>), which kept a 1.5B model's 640×480 prefill on a Zen 3 running for over ten minutes
/// (docs/benchmarks.md, "bf16 products on an AVX2 CPU"). A bf16 value widens to float32 exactly, and libtorch's bf16 GEMM
/// accumulates in float32 and rounds once to bf16 as this does, so the two agree but for the order of the sums. With AVX2
/// and FMA the product is the engine's packed GEMM (<see cref="Kernels.CpuGemm"/>), which widens the weights as it packs
/// them, and multiplies int8 and int4 rows as integers against x rounded to 16 bits (<see cref="LinearInt8"/>,
/// <see cref="LinearInt4"/>); elsewhere, or as the benchmarks' baseline (<see cref="WidenedSlices"/>), each slice of widened
/// weights goes to libtorch's float32 GEMM, and quantised weights are dequantised to bf16 first.
/// </summary>
public static class Float32Gemm
{
    /// <summary>
    /// Whether libtorch's bf16 GEMM runs in oneDNN on this CPU: x86 with AVX-512 F, BW, VL and DQ in hardware (CPUID leaf 7,
    /// read directly, so that <c>DOTNET_EnableAVX512=0</c>, which restricts only .NET's code, does not change the answer).
    /// </summary>
    public static bool LibTorchBf16GemmIsFast { get; } = HasAvx512ForOneDnn();

    /// <summary>
    /// Whether CPU bf16 products above the decode kernels' rows take this route: by default where libtorch's bf16 GEMM is not
    /// fast. Per calling thread (the products run on the thread that calls the model), so that a benchmark's baseline or a
    /// test of either route affects only its own calls.
    /// </summary>
    public static bool Enabled { get => _enabled ?? !LibTorchBf16GemmIsFast; set => _enabled = value; }
    [ThreadStatic] static bool? _enabled;

    /// <summary>
    /// True: the routes before the packed GEMM, even where it runs (the benchmarks' baseline): bf16 weights are widened a slice
    /// at a time for libtorch's float32 GEMM, and float32 weights go to libtorch's <c>linear</c>
    /// (<see cref="TakesFloat32Weights"/> is false). Per calling thread.
    /// </summary>
    public static bool WidenedSlices { get => _widenedSlices; set => _widenedSlices = value; }
    [ThreadStatic] static bool _widenedSlices;

    /// <summary>
    /// True: int8 and int4 prefill dequantise the weights to bf16 first, then take the bf16 route, as before the packed GEMM
    /// read quantised weights itself (<see cref="LinearInt8"/>; the benchmarks' baseline). Per calling thread.
    /// </summary>
    public static bool DequantiseFirst { get => _dequantiseFirst; set => _dequantiseFirst = value; }
    [ThreadStatic] static bool _dequantiseFirst;

    /// <summary>
    /// Whether CPU float32 products above the decode kernels' rows take <see cref="Linear"/> (the packed GEMM) instead of
    /// libtorch's float32 GEMM: on the same CPUs as bf16's route (<see cref="Enabled"/>: no AVX-512 for libtorch; with it,
    /// MKL's AVX-512 GEMM has twice the width), with AVX2 and FMA. On a Zen 3, over 7B-D's matrices, the packed GEMM ran at
    /// 0.94–2.4× libtorch's float32 GEMM at 65 and 200 rows and 1.07–1.6× at 749 (docs/benchmarks.md, "A packed GEMM for
    /// prefill").
    /// </summary>
    public static bool TakesFloat32Weights => Enabled && Kernels.CpuGemm.IsSupported && !WidenedSlices;

    /// <summary>Products <see cref="Linear"/> has computed on the calling thread so far (tests: which route a pass took).</summary>
    internal static int CallsOnThisThread => _calls;
    [ThreadStatic] static int _calls;

    /// <summary>
    /// Float32 elements of weights widened at a time (8 MB, which stays in the L3 cache while the GEMM reads it), but at
    /// least <see cref="SliceMinRows"/> rows: 585 rows of 7B-D's 3,584 columns, 256 of ff_out's 18,944. On a Zen 3, slices
    /// of 16 MB and more made ff_proj's 749-row product 30–45 % slower than over float32 weights, and slices of 27–110 rows
    /// made ff_out's up to twice as slow (`gemm`, docs/benchmarks.md).
    /// </summary>
    internal const long SliceElements = 2L << 20;

    /// <summary>Fewest weight rows a slice has (see <see cref="SliceElements"/>).</summary>
    internal const long SliceMinRows = 256;

    static readonly object ScratchLock = new();
    static Tensor? _scratch;

    /// <summary>Most float32 sums kept between products (128 MB); see <see cref="Linear"/>.</summary>
    const long KeptSumsElements = 32L << 20;
    static Tensor? _sums;

    /// <summary>The kept sums' buffer, at least <paramref name="elements"/> long (under ScratchLock).</summary>
    static Tensor KeptSums(long elements)
    {
        if (_sums is null || _sums.NumberOfElements < elements)
        {
            _sums?.Dispose();
            _sums = null;
            _sums = empty([elements], ScalarType.Float32).DetachFromDisposeScope();
        }
        return _sums.narrow(0, 0, elements);
    }

    /// <summary>x [..., K] (any float dtype) times a bf16 (or float32) weight [N, K] (+ bias [N]) → [..., N] in x's dtype, on
    /// the CPU.</summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias)
    {
        if (weight.dim() != 2 || x.shape[^1] != weight.shape[1] || weight.device_type != TorchSharp.DeviceType.CPU)
            throw new ArgumentException($"a CPU weight [N, K] and x [..., K] are needed; got weight [{string.Join(", ", weight.shape)}] on {weight.device_type}, x [{string.Join(", ", x.shape)}]");
        long n = weight.shape[0], k = weight.shape[1];
        _calls++;
        using var scope = NewDisposeScope();
        long m = x.shape[..^1].Aggregate(1L, (a, b) => a * b);
        if (Kernels.CpuGemm.IsSupported && !WidenedSlices && weight.dtype is ScalarType.BFloat16 or ScalarType.Float32 && m <= int.MaxValue && n <= int.MaxValue && k <= int.MaxValue)
        {
            var w = weight.contiguous();
            nint pw = Checkpoints.NativeTensor.DataPointer(w);
            unsafe
            {
                return w.dtype == ScalarType.BFloat16
                    ? Packed(x, new FloatWeights<Kernels.CpuGemm.Bf16Rows>(new((ushort*)pw, (int)k)), n, k, bias).MoveToOuterDisposeScope()
                    : Packed(x, new FloatWeights<Kernels.CpuGemm.Float32Rows>(new((float*)pw, (int)k)), n, k, bias).MoveToOuterDisposeScope();
            }
        }
        var xf = x.reshape(-1, k).to(ScalarType.Float32);
        var y32 = empty([m, n], ScalarType.Float32);
        long sliceRows = Math.Min(Math.Max(SliceElements / k, SliceMinRows), n);
        // One buffer for the process, as the dequantised weights' (DequantisedLinear): a fresh one per product would be
        // faulted in anew each time. Products are serialised on it; each uses every core anyway.
        lock (ScratchLock)
        {
            if (_scratch is null || _scratch.NumberOfElements < sliceRows * k)
            {
                _scratch?.Dispose();
                _scratch = empty([sliceRows * k], ScalarType.Float32).DetachFromDisposeScope();
            }
            for (long r0 = 0; r0 < n; r0 += sliceRows)
            {
                using var inner = NewDisposeScope();
                long rows = Math.Min(sliceRows, n - r0);
                var wf = _scratch.narrow(0, 0, rows * k).view(rows, k);
                wf.copy_(weight.narrow(0, r0, rows));
                y32.narrow(1, r0, rows).copy_(mm(xf, wf.t()));
            }
        }
        return Finish(x, y32, bias, n).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// True: int8 and int4 prefill read the weights as bf16(q · scale) into the float32 packed GEMM
    /// (<see cref="Kernels.CpuGemm.Int8Rows"/>, <see cref="Kernels.CpuGemm.Int4Rows"/>), as before they multiplied integers
    /// (the benchmarks' baseline). Per calling thread.
    /// </summary>
    public static bool QuantisedAsBf16Weights { get => _quantisedAsBf16Weights; set => _quantisedAsBf16Weights = value; }
    [ThreadStatic] static bool _quantisedAsBf16Weights;

    /// <summary>
    /// x [..., K] · (q · scale)ᵀ (+ bias) for int8 weights q [N, K] with a float32 scale a row, through the packed GEMM in
    /// integers (<see cref="Kernels.CpuGemm.ProductInt16{TX, TW}"/>: x rounded to 16 bits per 256 columns, as the decode
    /// kernels round it, and exact integer sums; on a Zen 3 1.2–1.7× the float32 GEMM's speed over the same weights). With
    /// <see cref="QuantisedAsBf16Weights"/>, the float32 GEMM over bf16(q · scale), the values
    /// <see cref="Int8Quantizer.DequantizeBf16"/> writes. Null where the packed GEMM does not take it (no AVX2 and FMA, the
    /// baseline switch <see cref="DequantiseFirst"/>, not this route's CPUs): the caller dequantises instead.
    /// </summary>
    public static unsafe Tensor? LinearInt8(Tensor x, Tensor q, Tensor scale, Tensor? bias)
    {
        if (!TakesQuantised(x, q, scale, ScalarType.Int8, q.shape[1])) return null;
        _calls++;
        using var scope = NewDisposeScope();
        sbyte* pq = (sbyte*)Checkpoints.NativeTensor.DataPointer(q);
        float* ps = (float*)Checkpoints.NativeTensor.DataPointer(scale);
        int k = (int)q.shape[1];
        var y = Quantised(x, new Kernels.CpuGemm.Int8Rows(pq, ps, k), new Kernels.CpuGemm.Int8Pairs(pq, ps, k), q.shape[0], k, bias);
        GC.KeepAlive(q); GC.KeepAlive(scale);
        return y.MoveToOuterDisposeScope();
    }

    /// <summary><see cref="LinearInt8"/> for int4 weights packed two to a byte [N, K/2] with a scale per group of columns
    /// (<see cref="Int4Quantizer"/>).</summary>
    public static unsafe Tensor? LinearInt4(Tensor x, Tensor packed, Tensor scale, Tensor? bias)
    {
        long k = packed.shape[1] * 2;
        if (!TakesQuantised(x, packed, scale, ScalarType.Byte, k)) return null;
        int g = Int4Quantizer.GroupSize(k);
        if (!scale.shape.SequenceEqual(new[] { packed.shape[0], k / g }))
            throw new ArgumentException($"int4 weights [{packed.shape[0]}, {packed.shape[1]}] need a scale of shape [{packed.shape[0]}, {k / g}]; got [{string.Join(", ", scale.shape)}]");
        _calls++;
        using var scope = NewDisposeScope();
        byte* pq = (byte*)Checkpoints.NativeTensor.DataPointer(packed);
        float* ps = (float*)Checkpoints.NativeTensor.DataPointer(scale);
        var y = Quantised(x, new Kernels.CpuGemm.Int4Rows(pq, ps, (int)k, g), new Kernels.CpuGemm.Int4Pairs(pq, ps, (int)k, g), packed.shape[0], k, bias);
        GC.KeepAlive(packed); GC.KeepAlive(scale);
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>Quantised weights [N, K] through the packed GEMM: as bf16 weights (<paramref name="asBf16"/>) with
    /// <see cref="QuantisedAsBf16Weights"/>, else in integers (<paramref name="pairs"/>).</summary>
    static Tensor Quantised<TR, TP>(Tensor x, TR asBf16, TP pairs, long n, long k, Tensor? bias)
        where TR : struct, Kernels.IMatrixRows where TP : struct, Kernels.IPairRows =>
        QuantisedAsBf16Weights ? Packed(x, new FloatWeights<TR>(asBf16), n, k, bias) : Packed(x, new IntegerWeights<TP>(pairs), n, k, bias);

    /// <summary>Whether quantised weights (contiguous CPU tensors of <paramref name="dtype"/>, a contiguous float32 scale) of
    /// <paramref name="k"/> columns go to the packed GEMM for x.</summary>
    static bool TakesQuantised(Tensor x, Tensor w, Tensor scale, ScalarType dtype, long k) =>
        Enabled && Kernels.CpuGemm.IsSupported && !WidenedSlices && !DequantiseFirst && !x.requires_grad && x.device_type == TorchSharp.DeviceType.CPU
        && w.dim() == 2 && w.dtype == dtype && w.device_type == TorchSharp.DeviceType.CPU && w.is_contiguous()
        && scale.dtype == ScalarType.Float32 && scale.device_type == TorchSharp.DeviceType.CPU && scale.is_contiguous()
        && x.shape[^1] == k && w.shape[0] <= int.MaxValue && k <= int.MaxValue && x.NumberOfElements / k <= int.MaxValue;

    /// <summary>What <see cref="Packed{TP}"/> multiplies x by: packed x read through TX, [M, K] · wᵀ into y [M, N].</summary>
    unsafe interface IPackedProduct
    {
        void Run<TX>(TX x, int m, int k, int n, float* y) where TX : struct, Kernels.IMatrixRows;
    }

    /// <summary>Weights [N, K] read as float32 through TW, in the float32 packed GEMM.</summary>
    readonly unsafe struct FloatWeights<TW>(TW w) : IPackedProduct where TW : struct, Kernels.IMatrixRows
    {
        public void Run<TX>(TX x, int m, int k, int n, float* y) where TX : struct, Kernels.IMatrixRows => Kernels.CpuGemm.Product(x, m, k, w, n, y);
    }

    /// <summary>Quantised weights [N, K] read as 16-bit values through TW, in the packed GEMM's integer products.</summary>
    readonly unsafe struct IntegerWeights<TW>(TW w) : IPackedProduct where TW : struct, Kernels.IPairRows
    {
        public void Run<TX>(TX x, int m, int k, int n, float* y) where TX : struct, Kernels.IMatrixRows => Kernels.CpuGemm.ProductInt16(x, m, k, w, n, y);
    }

    /// <summary>
    /// The packed GEMM, x [..., K] times weights [N, K] as <paramref name="product"/> reads them: bf16 x is widened as it is
    /// packed (exactly, as a conversion would), other dtypes go to float32 first. The float32 sums go into a buffer kept for
    /// the process when the result is rounded to another dtype anyway (up to 128 MB: a 749-token prompt's ff_proj; a fresh
    /// one was zeroed page by page on first touch); a float32 result is the sums themselves. A new tensor in the caller's
    /// scope.
    /// </summary>
    static unsafe Tensor Packed<TP>(Tensor x, TP product, long n, long k, Tensor? bias) where TP : struct, IPackedProduct
    {
        long m = x.NumberOfElements / k;
        bool bf16 = x.dtype == ScalarType.BFloat16;
        var xs = bf16 ? x.reshape(-1, k).contiguous() : x.reshape(-1, k).to(ScalarType.Float32).contiguous();
        lock (ScratchLock)
        {
            var y = x.dtype != ScalarType.Float32 && m * n <= KeptSumsElements ? KeptSums(m * n).view(m, n) : empty([m, n], ScalarType.Float32);
            float* py = (float*)Checkpoints.NativeTensor.DataPointer(y);
            nint px = Checkpoints.NativeTensor.DataPointer(xs);
            if (bf16) product.Run(new Kernels.CpuGemm.Bf16Rows((ushort*)px, (int)k), (int)m, (int)k, (int)n, py);
            else product.Run(new Kernels.CpuGemm.Float32Rows((float*)px, (int)k), (int)m, (int)k, (int)n, py);
            return Finish(x, y, bias, n);
        }
    }

    /// <summary>y [rows, N] float32 plus the bias, rounded once to x's dtype (a new tensor unless x is float32), in x's leading
    /// shape.</summary>
    static Tensor Finish(Tensor x, Tensor y, Tensor? bias, long n)
    {
        if (bias is not null) y.add_(bias.to(ScalarType.Float32), Runtime.Scalars.One);
        long[] shape = [.. x.shape[..^1], n];
        return y.to(x.dtype).view(shape);
    }

    static bool HasAvx512ForOneDnn()
    {
        if (!X86Base.IsSupported) return false;
        var (_, ebx, _, _) = X86Base.CpuId(7, 0);
        const int F = 1 << 16, Dq = 1 << 17, Bw = 1 << 30, Vl = 1 << 31;
        return (ebx & (F | Dq | Bw | Vl)) == (F | Dq | Bw | Vl);
    }
}
