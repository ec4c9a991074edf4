using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;

namespace Molmo.Model;

/// <summary>
/// Where and in which precision a model's parameters live. With <see cref="Int8Decoder"/>, the decoder's matrices (QKV, attention
/// output, FFN and LM head) are stored as int8 with one float32 scale per output row, quantised while loading; with
/// <see cref="Int4Decoder"/>, as int4 with a float32 scale per group of 64 columns (<see cref="Int4Quantizer"/>). Everything
/// else (vision, embeddings, norms, biases) stays in <see cref="DType"/>.
/// </summary>
public sealed record ModelPlacement(ScalarType DType, Device Device, bool Int8Decoder = false)
{
    public static ModelPlacement CpuFloat32 => new(ScalarType.Float32, CPU);

    /// <summary>The decoder's matrices in int4 (exclusive of <see cref="Int8Decoder"/>).</summary>
    public bool Int4Decoder
    {
        get => _int4;
        init => _int4 = !value || !Int8Decoder ? value : throw new ArgumentException("a placement is int8 or int4, not both");
    }
    readonly bool _int4;

    /// <summary>Allocates an uninitialised parameter (weights are loaded or initialised afterwards).</summary>
    internal TorchSharp.Modules.Parameter Empty(params long[] shape) => new(torch.empty(shape, DType, Device), requires_grad: false);
}

/// <summary>
/// <c>y = x·Wᵀ (+ b)</c> with fields <c>weight</c> [out, in] and optional <c>bias</c> [out], as in the checkpoints.
/// A quantisable layer of an int8 placement stores <c>weight</c> as int8 and adds <c>weight_scale</c> [out] (float32), which the
/// checkpoint loader fills from the float weights (<see cref="Int8Quantizer"/>); it is not a checkpoint key. In an int4
/// placement <c>weight</c> is uint8 [out, in/2] (two weights a byte) and <c>weight_scale</c> float32 [out, in/64]
/// (<see cref="Int4Quantizer"/>); the loader checks the checkpoint's float weight against the logical shape [out, in].
/// </summary>
public sealed class Linear : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE0044
    TorchSharp.Modules.Parameter weight;
    TorchSharp.Modules.Parameter? bias;
    TorchSharp.Modules.Parameter? weight_scale;
#pragma warning restore IDE0044

    public long InFeatures { get; }

    /// <summary>
    /// Whether the engine's CPU kernels run (default) or libtorch's ops: decode-sized bf16 and float32 products
    /// (<see cref="Kernels.CpuGemv"/>) and decode attention (<see cref="Kernels.CpuAttention"/>). int8 products always use the
    /// kernel: libtorch has no weight-only int8 product.
    /// </summary>
    public static bool UseCpuKernels { get; set; } = true;

    /// <summary>
    /// Most input rows a bf16 product sends to the CPU kernel. With AVX-512, measured against libtorch's GEMM on 7B-D's
    /// matrices (`gemv --rows N`): at 8 rows the kernel read 31–34 GB/s against 28.5–30; at 12 both 25–27; at 16 it fell
    /// behind. On an AVX2-only CPU, every batch the kernel takes (64 rows): there libtorch's bf16 GEMM is a loop of dot
    /// products (~19 GFLOP/s on a Zen 3), and the kernel's 2 × 4 register block took 7B-D's three matrices in 113 ms at 16
    /// rows, 178 ms at 32 and 291 ms at 64, against 312, 378 and 487 ms widened to float32 (<see cref="Float32Gemm"/>) and
    /// 389, 956 and 1491 ms in libtorch's bf16 GEMM (`gemm`, docs/benchmarks.md, "bf16 products on an AVX2 CPU"). With .NET kept to AVX2 on a CPU
    /// whose libtorch has oneDNN's bf16 GEMM (<c>DOTNET_EnableAVX512=0</c>), one row: there a register block of 2 weight rows
    /// × 4 x rows (tried on 2026-11-27) left 7B-D's batches of 2, 4 and 8 at 4.20, 7.70 and 10.03 tok/s, where libtorch's
    /// GEMM gave 4.42, 8.88 and 15.02 (docs/benchmarks.md, "7B-D on an AVX2 CPU"). Process-wide; the benchmarks set it for
    /// their baseline.
    /// </summary>
    public static int Bf16KernelMaxRows { get; internal set; } = System.Runtime.Intrinsics.X86.Avx512F.IsSupported ? 8 : Float32Gemm.LibTorchBf16GemmIsFast ? 1 : Kernels.CpuGemv.MaxRows;

    public Linear(long inFeatures, long outFeatures, bool hasBias, ModelPlacement p, bool quantizable = false) : base(nameof(Linear))
    {
        InFeatures = inFeatures;
        if (quantizable && p.Int4Decoder)
        {
            var (packed, scales) = Int4Quantizer.Shapes(outFeatures, inFeatures);
            weight = new(torch.empty(packed, ScalarType.Byte, p.Device), requires_grad: false);
            weight_scale = new(torch.empty(scales, ScalarType.Float32, p.Device), requires_grad: false);
        }
        else if (quantizable && p.Int8Decoder)
        {
            weight = new(torch.empty([outFeatures, inFeatures], ScalarType.Int8, p.Device), requires_grad: false);
            weight_scale = new(torch.empty([outFeatures], ScalarType.Float32, p.Device), requires_grad: false);
        }
        else weight = p.Empty(outFeatures, inFeatures);
        bias = hasBias ? p.Empty(outFeatures) : null;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        // The engine's CPU routes serve inference only (no autograd: neither the input nor the weight may need a gradient);
        // its matrix kernels need AVX2 and FMA, or AVX-512.
        bool cpu = weight.device_type == TorchSharp.DeviceType.CPU && !x.requires_grad && !weight.requires_grad;
        bool kernels = cpu && Kernels.CpuGemv.IsSupported;
        long rows = x.NumberOfElements / InFeatures;
        if (weight_scale is null)
        {
            // Decode steps on the CPU stream the weights through the GEMV kernel: libtorch's path for a few rows reads well
            // below DRAM bandwidth (docs/benchmarks.md, gemv). bf16 from nine rows on (larger batches, prefill) is faster in
            // libtorch's GEMM, which has the AVX512-BF16 dot-product instructions that .NET does not expose; float32 stays on
            // the kernel up to 64 rows.
            if (kernels && UseCpuKernels && weight.dtype == ScalarType.BFloat16 && rows <= Bf16KernelMaxRows)
                return Kernels.CpuGemv.LinearBf16(x, weight, bias);
            if (kernels && UseCpuKernels && weight.dtype == ScalarType.Float32 && rows <= Kernels.CpuGemv.MaxRows && Kernels.CpuGemv.SupportsFloat32)
                return Kernels.CpuGemv.LinearFp32(x, weight, bias);
            // Where libtorch's bf16 GEMM is a loop of dot products (CPUs without AVX-512), bf16 weights widen to float32.
            if (cpu && weight.dtype == ScalarType.BFloat16 && Float32Gemm.Enabled)
                return Float32Gemm.Linear(x, weight, bias);
            // And float32 ones take the same packed GEMM there, faster than libtorch's float32 GEMM on such CPUs.
            if (cpu && weight.dtype == ScalarType.Float32 && Float32Gemm.TakesFloat32Weights)
                return Float32Gemm.Linear(x, weight, bias);
            return nn.functional.linear(x, weight, bias);
        }
        if (weight.dtype == ScalarType.Byte)
        {
            // int4 on the CPU: decode steps of up to 64 rows through the kernel (AVX-512 or AVX2); prefill-sized inputs through
            // the packed GEMM's integer products, which read the int4 rows as they pack them (CPUs with AVX2 but not AVX-512),
            // or dequantised to bf16 for libtorch's GEMM. On CUDA, decode steps through the CUDA kernel. Elsewhere (prefill on a
            // GPU, a CPU without AVX2, float32 activations) the weights are dequantised by libtorch ops for each product.
            if (kernels && Kernels.CpuGemv.SupportsInt4 && rows <= Kernels.CpuGemv.MaxRows)
                return Kernels.CpuGemv.LinearInt4(x, weight, weight_scale, bias);
            if (cpu && x.dtype == ScalarType.BFloat16 && Kernels.CpuGemv.SupportsInt4)
                return Float32Gemm.LinearInt4(x, weight, weight_scale, bias) ?? Int4Quantizer.LinearDequantised(x, weight, weight_scale, bias);
            // On CUDA, decode steps of up to CudaQuantGemv.MaxRows rows read the int4 weights in the engine's kernel (when it
            // loads there).
            if (weight.device_type == TorchSharp.DeviceType.CUDA && !x.requires_grad && Runtime.CudaQuantGemv.TryLinearInt4(x, weight, weight_scale, bias) is { } fast4)
                return fast4;
            using var w = Int4Quantizer.Dequantize(weight, weight_scale, x.dtype);
            return nn.functional.linear(x, w, bias);
        }
        // int8 on the CPU: decode steps of up to 64 rows (batched decoding) stream the int8 rows through the kernel, 1 byte per
        // weight read once per step; prefill-sized inputs (and every bf16 input on a CPU without the kernels) go to the packed
        // GEMM's integer products, which read the int8 rows as they pack them (CPUs with AVX2 but not AVX-512), or dequantise
        // to bf16 in one pass for libtorch's GEMM.
        if (kernels && rows <= Kernels.CpuGemv.MaxRows)
            return Kernels.CpuGemv.LinearInt8(x, weight, weight_scale, bias);
        // On CUDA, decode steps of up to CudaQuantGemv.MaxRows rows read the int8 weights in the engine's own kernel (when it
        // loads there; Runtime/CudaQuantGemv); everything else takes libtorch's route below.
        if (weight.device_type == TorchSharp.DeviceType.CUDA && !x.requires_grad && Runtime.CudaQuantGemv.TryLinear(x, weight, weight_scale, bias) is { } fast)
            return fast;
        using var scope = NewDisposeScope();
        if (cpu && x.dtype == ScalarType.BFloat16)
            return (Float32Gemm.LinearInt8(x, weight, weight_scale, bias) ?? Int8Quantizer.LinearDequantised(x, weight, weight_scale, bias)).MoveToOuterDisposeScope();
        // Elsewhere (CUDA, fp32): the integers converted exactly (|q| ≤ 127), the GEMM, then each output column times its
        // row's scale — one full-size pass over the weights instead of two (convert, then scale).
        var y = nn.functional.linear(x, weight.to(x.dtype)) * weight_scale.to(x.dtype);
        return (bias is null ? y : y.add(bias, Runtime.Scalars.One)).MoveToOuterDisposeScope();
    }
}

/// <summary>Symmetric per-output-channel int8 quantisation: scale = max|w_row| / 127, q = round(w / scale) in [−127, 127].</summary>
public static class Int8Quantizer
{
    public static (Tensor Q, Tensor Scale) Quantize(Tensor w)
    {
        if (OnePass(w)) return QuantizeCpu(w);
        using var scope = NewDisposeScope();
        var wf = w.to(ScalarType.Float32);
        var scale = wf.abs().amax([1L]).div(Runtime.Scalars.Of(127.0)).clamp_min(Runtime.Scalars.Of(1e-12));
        var q = wf.div(scale.unsqueeze(1)).round().clamp(Runtime.Scalars.Of(-127), Runtime.Scalars.Of(127)).to(ScalarType.Int8);
        return (q.MoveToOuterDisposeScope(), scale.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// <see cref="Quantize"/> into the given tensors (an int8 layer's <c>weight</c> and <c>weight_scale</c>, while loading):
    /// a contiguous 2-D CPU weight in bf16 or float32 is quantised straight into them, anything else through temporaries.
    /// </summary>
    public static void QuantizeInto(Tensor w, Tensor q, Tensor scale)
    {
        if (!q.shape.SequenceEqual(w.shape) || q.dtype != ScalarType.Int8 || scale.dtype != ScalarType.Float32 || scale.NumberOfElements != w.shape[0])
            throw new ArgumentException($"an int8 [{string.Join(", ", w.shape)}] weight and a float32 [{w.shape[0]}] scale are needed");
        if (OnePass(w) && q.device_type == TorchSharp.DeviceType.CPU && q.is_contiguous() && scale.device_type == TorchSharp.DeviceType.CPU && scale.is_contiguous())
        {
            QuantizeCpu(w, q, scale);
            return;
        }
        var (tq, ts) = Quantize(w);
        using (tq) using (ts) { q.copy_(tq); scale.copy_(ts); }
    }

    /// <summary>
    /// bf16 weights back from int8 on the CPU, for prefill's GEMM: bf16(q·s) with the product in float32, rounded to nearest
    /// even, in one vectorised pass split over the kernel threads. (The tensor expression q.to(bf16) · s.to(bf16) makes two
    /// full-size passes and rounds the scale to bf16 first; this is both faster and closer to the quantised weights.)
    /// </summary>
    public static unsafe Tensor DequantizeBf16(Tensor q, Tensor scale, Tensor? into = null)
    {
        if (q.dim() != 2 || q.dtype != ScalarType.Int8 || q.device_type != TorchSharp.DeviceType.CPU || !q.is_contiguous())
            throw new ArgumentException("DequantizeBf16 takes a contiguous 2-D int8 CPU tensor");
        long n = q.shape[0], k = q.shape[1];
        if (into is not null && (into.dtype != ScalarType.BFloat16 || !into.shape.SequenceEqual(q.shape) || !into.is_contiguous() || into.device_type != TorchSharp.DeviceType.CPU))
            throw new ArgumentException($"DequantizeBf16 writes into a contiguous bf16 CPU tensor of shape [{n}, {k}]");
        using var sf = scale.to(ScalarType.Float32).contiguous();
        var w = into ?? empty([n, k], ScalarType.BFloat16);
        nint src = Checkpoints.NativeTensor.DataPointer(q), dst = Checkpoints.NativeTensor.DataPointer(w), ps = Checkpoints.NativeTensor.DataPointer(sf);
        Kernels.KernelThreads.ForEachRow(n, r =>
        {
            sbyte* row = (sbyte*)src + r * k;
            ushort* o = (ushort*)dst + r * k;
            float s = ((float*)ps)[r];
            long j = 0;
            if (Avx512F.IsSupported)
            {
                var vs = Vector512.Create(s);
                for (; j + 16 <= k; j += 16)
                    Avx.Store(o + j, Kernels.CpuGemv.FloatToBf16x16(Avx512F.Multiply(Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Sse2.LoadVector128(row + j))), vs)));
            }
            else if (Avx2.IsSupported)
            {
                // AVX2: the scalar loop below took 3.8 s of a 7B-D prefill, this 0.7 s (`bench dequantise`).
                var vs = Vector256.Create(s);
                for (; j + 8 <= k; j += 8)
                    Sse2.Store(o + j, Kernels.CpuGemv.FloatToBf16x8(Avx.Multiply(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(row + j)), vs)));
            }
            for (; j < k; j++) o[j] = Kernels.CpuGemv.FloatToBf16(row[j] * s);
        });
        return w;
    }

    /// <summary>Whether <paramref name="w"/> takes the one-pass CPU quantiser: a contiguous 2-D CPU tensor in bf16 or float32.</summary>
    static bool OnePass(Tensor w) =>
        w.dim() == 2 && w.device_type == TorchSharp.DeviceType.CPU && w.is_contiguous() && w.dtype is ScalarType.BFloat16 or ScalarType.Float32;

    /// <summary>x · (q·s)ᵀ (+ b) for prefill-sized inputs: the weights dequantised to bf16 for libtorch's GEMM, through
    /// <see cref="DequantisedLinear"/>'s buffer.</summary>
    public static Tensor LinearDequantised(Tensor x, Tensor q, Tensor scale, Tensor? bias) =>
        DequantisedLinear.Forward(x, q.shape, into => DequantizeBf16(q, scale, into), bias);

    /// <summary>
    /// The same arithmetic row by row in one pass over the weights (float32 division, round half to even), instead of the
    /// six full-size float32 temporaries of the tensor version: loading a 7B model with --dtype int8 quantises 8 G weights.
    /// </summary>
    static (Tensor Q, Tensor Scale) QuantizeCpu(Tensor w)
    {
        var q = empty([w.shape[0], w.shape[1]], ScalarType.Int8);
        var scale = empty([w.shape[0]], ScalarType.Float32);
        QuantizeCpu(w, q, scale);
        return (q, scale);
    }

    static unsafe void QuantizeCpu(Tensor w, Tensor q, Tensor scale)
    {
        long n = w.shape[0], k = w.shape[1];
        nint src = Checkpoints.NativeTensor.DataPointer(w), dq = Checkpoints.NativeTensor.DataPointer(q), ds = Checkpoints.NativeTensor.DataPointer(scale);
        bool bf16 = w.dtype == ScalarType.BFloat16;
        Kernels.KernelThreads.ForEachRow(n, r =>
        {
            float Get(long j) => bf16 ? Kernels.CpuGemv.Bf16ToFloat(((ushort*)src)[r * k + j]) : ((float*)src)[r * k + j];
            // 16 weights as float32 (bf16 widened exactly).
            Vector512<float> Load16(long j) => bf16 ? Kernels.CpuGemv.Bf16ToFloat16((ushort*)src + r * k + j) : Avx512F.LoadVector512((float*)src + r * k + j);
            float max = 0;
            long j = 0;
            if (Avx512F.IsSupported)
            {
                var vmax = Vector512<float>.Zero;
                for (; j + 16 <= k; j += 16) vmax = Avx512F.Max(vmax, Vector512.Abs(Load16(j)));
                max = Kernels.CpuGemv.MaxLane(vmax);
            }
            for (; j < k; j++) max = Math.Max(max, Math.Abs(Get(j)));
            float s = Math.Max(max / 127f, 1e-12f);
            ((float*)ds)[r] = s;
            sbyte* row = (sbyte*)dq + r * k;
            j = 0;
            if (Avx512F.IsSupported)
            {
                // The same float32 division; the conversion rounds half to even (the default rounding mode), as MathF.Round.
                var vs = Vector512.Create(s);
                var lo = Vector512.Create(-127);
                var hi = Vector512.Create(127);
                for (; j + 16 <= k; j += 16)
                {
                    var qv = Avx512F.Min(Avx512F.Max(Avx512F.ConvertToVector512Int32(Avx512F.Divide(Load16(j), vs)), lo), hi);
                    Sse2.Store(row + j, Avx512F.ConvertToVector128SByte(qv));
                }
            }
            for (; j < k; j++) row[j] = (sbyte)Math.Clamp(MathF.Round(Get(j) / s, MidpointRounding.ToEven), -127f, 127f);
        });
    }
}

/// <summary>LayerNorm with weight and bias (ViT). Computed in float32 and cast back, like the reference's pre-LN.</summary>
public sealed class LayerNorm : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE0044
    TorchSharp.Modules.Parameter weight;
    TorchSharp.Modules.Parameter bias;
#pragma warning restore IDE0044
    readonly long[] _shape;
    readonly double _eps;

    public LayerNorm(long dim, double eps, ModelPlacement p) : base(nameof(LayerNorm))
    {
        _shape = [dim]; _eps = eps;
        weight = p.Empty(dim);
        bias = p.Empty(dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        if (x.dtype == ScalarType.Float32)
            return nn.functional.layer_norm(x, _shape, weight, bias, _eps);
        using var xf = x.to(ScalarType.Float32);
        using var wf = weight.to(ScalarType.Float32);
        using var bf = bias.to(ScalarType.Float32);
        using var y = nn.functional.layer_norm(xf, _shape, wf, bf, _eps);
        return y.to(x.dtype);
    }
}

/// <summary>
/// RMSNorm as in the reference: in float32 <c>x·rsqrt(mean(x²) + eps)</c>, cast back to the input dtype, then × weight (no bias).
/// </summary>
public sealed class RMSNorm : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE0044
    TorchSharp.Modules.Parameter weight;
#pragma warning restore IDE0044
    // Held for the module's life and passed as a Scalar, not as a double: TorchSharp would make a Scalar of the double for
    // every call and keep only its handle, and a garbage collection before TorchScript reads it (the invocation itself
    // allocates) frees it under libtorch: "Expected false to be true, but got false", up to once in some 400 calls in a probe
    // with another thread collecting garbage (docs/engine.md, "Scalars and the garbage collector"). The one TorchSharp call
    // that ScalarTemporaryTests lets through: invoke converts numbers, and none is passed here.
    readonly Scalar _eps;

    public RMSNorm(long dim, double eps, ModelPlacement p) : base(nameof(RMSNorm))
    {
        _eps = Runtime.Scalars.New(eps);
        weight = p.Empty(dim);
        RegisterComponents();
    }

    // libtorch's rms_norm computes the reference's steps exactly (upcast to float32, pow, mean, + eps, rsqrt, ×, cast back);
    // given no weight of its own, the weight is applied after the cast, as in the reference. On CUDA it is one fused kernel
    // instead of six to eight launches, and a GPU decode step is bound by launches (docs/gpu.md). TorchSharp 0.107 binds no
    // rms_norm, so it is reached through TorchScript: one call from C# for the whole norm.
    static readonly Lazy<jit.CompilationUnit> Script = new(() => jit.compile("""

        def rms_norm(x, weight, eps: float):
            return weight * torch.rms_norm(x, [x.size(-1)], None, eps)

        """));

    public override Tensor forward(Tensor x)
    {
        var y = (Tensor)Script.Value.invoke("rms_norm", x, weight, _eps);
        GC.KeepAlive(this);   // and so _eps, until libtorch has read it
        return y;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _eps.Dispose();
        base.Dispose(disposing);
    }
}
