using Molmo.Model;
using Molmo.Runtime;
using static TorchSharp.torch;

namespace Molmo.Tests.Model;

/// <summary>
/// bf16 products widened to float32 (<see cref="Float32Gemm"/>, the route of CPUs without AVX-512), through the packed GEMM
/// (AVX2 and FMA) and through slices for libtorch's float32 GEMM: against a float64 product rounded once, over one slice and
/// several, register blocks whole and cut short in each direction, 2-D and 3-D inputs, with and without bias;
/// the golden checkpoints' prompts through it and through libtorch's bf16 GEMM, in bf16 and with int8 and int4 weights
/// dequantised for it; which CPUs take it; and what it refuses.
/// </summary>
public class Float32GemmTests
{
    [Theory]
    [InlineData(37, 64, new long[] { 9 }, true)]          // one slice, fewer weight rows than a slice holds
    [InlineData(600, 8192, new long[] { 2, 5 }, true)]    // three slices of at least 256 rows (256, 256, 88), x [2, 5, K]
    [InlineData(300, 8192, new long[] { 40 }, false)]     // two slices, no bias
    [InlineData(531, 517, new long[] { 151 }, true)]      // packed GEMM: 26 panels of 6 rows (the last of 1), 3 blocks of
                                                           // weight rows (the last of 19: a strip of 3), K 256 + 256 + 5
    [InlineData(16, 8, new long[] { 6 }, false)]          // one whole register block
    [InlineData(40, 9, new long[] { 2, 7 }, true)]        // x packed 8 columns at a time and 1 alone; panels of 6 and 2 rows;
                                                           // K one pass of 4 columns twice and 1; strips of 16, 16 and 8
    [InlineData(20, 44, new long[] { 11 }, false)]        // panels of 6 and 5 rows; x's 8-column runs up to column 40
    public void MatchesTheFloat64ProductRoundedOnce(int n, int k, long[] lead, bool withBias)
    {
        // Where the packed GEMM runs (AVX2 and FMA), through it and through the widened slices it replaced.
        foreach (bool slices in Molmo.Model.Kernels.CpuGemm.IsSupported ? new[] { false, true } : [true])
        {
            Float32Gemm.WidenedSlices = slices;
            try
            {
                int packed = Molmo.Model.Kernels.CpuGemm.CallsOnThisThread;
                CheckAgainstFloat64(n, k, lead, withBias);
                Assert.Equal(packed + (slices ? 0 : 2), Molmo.Model.Kernels.CpuGemm.CallsOnThisThread);
            }
            finally { Float32Gemm.WidenedSlices = false; }
        }
    }

    static void CheckAgainstFloat64(int n, int k, long[] lead, bool withBias)
    {
        using var scope = NewDisposeScope();
        using var g = new TorchSharp.torch.Generator(7);
        var w = randn([n, k], generator: g).to(ScalarType.BFloat16);
        var b = withBias ? randn([n], generator: g).to(ScalarType.BFloat16) : null;
        var x = randn([.. lead, k], generator: g).to(ScalarType.BFloat16);
        var x64 = x.to(ScalarType.Float64).reshape(-1, k);
        var w64 = w.to(ScalarType.Float64);
        var reference = x64.matmul(w64.t());
        if (b is not null) reference = reference.add(b.to(ScalarType.Float64), Scalars.One);
        // Float32 sums of K products (each exact in float32), then one rounding to bf16 (half an ulp: 2⁻⁹ relative).
        var magnitude = x64.abs().matmul(w64.abs().t());
        var bound = reference.abs().mul(Scalars.Of(Math.Pow(2, -8))).add(magnitude.mul(Scalars.Of(k * Math.Pow(2, -23))), Scalars.One);

        int before = Float32Gemm.CallsOnThisThread;
        var got = Float32Gemm.Linear(x, w, b);
        Assert.Equal(before + 1, Float32Gemm.CallsOnThisThread);
        Assert.Equal(ScalarType.BFloat16, got.dtype);
        Assert.Equal([.. lead, n], got.shape);
        var err = (got.to(ScalarType.Float64).reshape(-1, n) - reference).abs();
        Assert.False(err.gt(bound).any().item<bool>(), $"max |Δ| {err.max().item<double>()} beyond the bound");

        // float32 x: a float32 result, without the final rounding to bf16.
        var got32 = Float32Gemm.Linear(x.to(ScalarType.Float32), w, b);
        Assert.Equal(ScalarType.Float32, got32.dtype);
        var err32 = (got32.to(ScalarType.Float64).reshape(-1, n) - reference).abs();
        Assert.False(err32.gt(magnitude.mul(Scalars.Of(k * Math.Pow(2, -23)))).any().item<bool>(), $"float32: max |Δ| {err32.max().item<double>()}");
    }

    [Theory]
    [InlineData("tiny_d_style", "img_100x100")]
    [InlineData("tiny_o_style", "img_100x100")]
    public void GoldenPromptsAgreeThroughEitherGemm(string variant, string @case)
    {
        // A CPU test: the route is the CPU's.
        var dir = Golden.TinyDir(variant);
        using var model = Molmo.Checkpoints.ModelLoader.Load(dir, new ModelPlacement(ScalarType.BFloat16, CPU));
        var expected = Golden.Read(Path.Combine(dir, $"{@case}.golden.safetensors"), "logits");
        var logits = new Tensor[2];
        bool saved = Float32Gemm.Enabled;
        try
        {
            foreach (bool widened in new[] { true, false })
            {
                Float32Gemm.Enabled = widened;
                int before = Float32Gemm.CallsOnThisThread;
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                using var output = model.Forward(TinyInputs.Load(variant, @case));
                logits[widened ? 0 : 1] = output.Logits[0].to(ScalarType.Float32).DetachFromDisposeScope();
                int calls = Float32Gemm.CallsOnThisThread - before;
                // The ViT's and the prompt's products (more rows than the decode kernels take) go through the route, or none do.
                if (widened) Assert.True(calls > 10, $"{calls} products widened");
                else Assert.Equal(0, calls);
                // The bf16 contract of the golden tests (Bf16GoldenTests) holds either way.
                var diff = (logits[widened ? 0 : 1] - expected).abs();
                Assert.True(diff.max().item<float>() < 0.25 && diff.mean().item<float>() < 0.03, $"widened {widened}: max |Δ| {diff.max().item<float>()}, mean {diff.mean().item<float>()}");
            }
            // The two routes differ in the order of float32 sums, and so in which bf16 roundings flip: each route is as far from
            // the other as from float32 (0.013–0.016 mean on both checkpoints), well inside bf16's bound.
            var between = (logits[0] - logits[1]).abs();
            Assert.True(between.max().item<float>() < 0.25 && between.mean().item<float>() < 0.03, $"the routes differ by up to {between.max().item<float>()}, {between.mean().item<float>()} on average");
        }
        finally
        {
            Float32Gemm.Enabled = saved;
            foreach (var t in logits) t?.Dispose();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void QuantisedPrefillStaysWithinItsBoundThroughEitherGemm(bool int4)
    {
        var dir = Golden.TinyDir("tiny_d_style");
        using var model = Molmo.Checkpoints.ModelLoader.Load(dir, new ModelPlacement(ScalarType.BFloat16, CPU, Int8Decoder: !int4) { Int4Decoder = int4 });
        var expected = Golden.Read(Path.Combine(dir, "img_100x100.golden.safetensors"), "logits");
        bool saved = Float32Gemm.Enabled;
        try
        {
            var results = new List<Tensor>();
            foreach (bool widened in new[] { true, false })
            {
                Float32Gemm.Enabled = widened;
                int before = Float32Gemm.CallsOnThisThread;
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                using var output = model.Forward(TinyInputs.Load("tiny_d_style", "img_100x100"));
                results.Add(output.Logits[0].to(ScalarType.Float32).DetachFromDisposeScope());
                Assert.Equal(widened, Float32Gemm.CallsOnThisThread > before);
            }
            // Both routes within the quantised model's bound against float32 with bf16 activations (int4's stated bound, max
            // 1.5 and mean 0.25; int8's 0.1 plus bf16's 0.25 and 0.03), and as close to each other.
            (double max, double mean) = int4 ? (1.5, 0.25) : (0.35, 0.05);
            foreach (var d in new[] { results[0] - expected, results[1] - expected, results[0] - results[1] })
            {
                var err = d.abs();
                Assert.True(err.max().item<float>() < max && err.mean().item<float>() < mean, $"{(int4 ? "int4" : "int8")}: max |Δ| {err.max().item<float>()}, mean {err.mean().item<float>()}");
            }
            foreach (var t in results) t.Dispose();
        }
        finally { Float32Gemm.Enabled = saved; }
    }

    /// <summary>Quantised products' shapes (int4?, N, K, M) for both routes' tests.</summary>
    public static TheoryData<bool, int, int, int> QuantisedShapes => new()
    {
        { false, 300, 517, 151 },   // int8: every register block edge; K blocks of 256, 256 and 5 (the integer route: its last
                                    // pair half past K); two blocks of weight rows
        { false, 16, 9, 6 },        // int8: one register block; a run of 8 columns and one alone (5 column pairs)
        { false, 40, 1024, 13 },    // int8: four whole K blocks; strips of 16, 16 and 8 weight rows
        { false, 20, 40, 14 },      // int8: x's pairs 8 at a time, then 4 alone; weights' 16 columns at a time, then 4
        { true, 300, 640, 151 },    // int4, groups of 64: K blocks of 256, 256 and 128 (the low and high nibbles' runs)
        { true, 40, 192, 13 },      // int4, groups of 32
        { true, 20, 96, 7 },        // int4, groups of 16
    };

    /// <summary>A random [n, k] matrix times <paramref name="scale"/>, quantised to int4 or int8: (q, scale).</summary>
    static (Tensor Q, Tensor S) RandomQuantised(bool int4, int n, int k, TorchSharp.torch.Generator g, double scale)
    {
        using var w = randn([n, k], generator: g).mul(Scalars.Of(scale));
        return int4 ? Int4Quantizer.Quantize(w) : Int8Quantizer.Quantize(w);
    }

    [Theory]
    [MemberData(nameof(QuantisedShapes))]
    public void QuantisedWeightsPackedAsTheyAreReadGiveTheBitsOfTheirDequantisedBf16Weights(bool int4, int n, int k, int m)
    {
        if (!Molmo.Model.Kernels.CpuGemm.IsSupported) return;    // no AVX2 and FMA: quantised prefill dequantises for libtorch
        using var scope = NewDisposeScope();
        using var g = new TorchSharp.torch.Generator(5);
        var (q, s) = RandomQuantised(int4, n, k, g, 3);
        var x = randn([2, m, k], generator: g).to(ScalarType.BFloat16);
        var b = randn([n], generator: g).to(ScalarType.BFloat16);
        Tensor? Direct() => int4 ? Float32Gemm.LinearInt4(x, q, s, b) : Float32Gemm.LinearInt8(x, q, s, b);
        bool saved = Float32Gemm.Enabled;
        Float32Gemm.Enabled = true;
        Float32Gemm.QuantisedAsBf16Weights = true;    // the float32 GEMM's route (the baseline), not integer products
        try
        {
            // The one-pass dequantiser's bf16 weights through the bf16 route: what quantised prefill computed before.
            var want = Float32Gemm.Linear(x, int4 ? Int4Quantizer.DequantizeBf16(q, s) : Int8Quantizer.DequantizeBf16(q, s), b);
            int packed = Molmo.Model.Kernels.CpuGemm.CallsOnThisThread;
            var got = Direct();
            Assert.Equal(packed + 1, Molmo.Model.Kernels.CpuGemm.CallsOnThisThread);
            Assert.NotNull(got);
            Assert.Equal(want.shape, got!.shape);
            Assert.True(got.eq(want).all().item<bool>(), $"max |Δ| {(got - want).abs().max().to(ScalarType.Float32).item<float>()}");
            // The baseline switch hands it back to the caller to dequantise.
            Float32Gemm.DequantiseFirst = true;
            Assert.Null(Direct());
        }
        finally
        {
            Float32Gemm.Enabled = saved;
            Float32Gemm.DequantiseFirst = false;
            Float32Gemm.QuantisedAsBf16Weights = false;
        }
    }

    [Theory]
    [MemberData(nameof(QuantisedShapes))]
    public void QuantisedPrefillInIntegersStaysWithinTheSixteenBitBound(bool int4, int n, int k, int m)
    {
        if (!Molmo.Model.Kernels.CpuGemm.IsSupported) return;    // no AVX2 and FMA: quantised prefill dequantises for libtorch
        using var scope = NewDisposeScope();
        using var g = new TorchSharp.torch.Generator(17);
        var (q, s) = RandomQuantised(int4, n, k, g, 1);
        var b = randn([n], generator: g);
        Tensor? Product(Tensor x) => int4 ? Float32Gemm.LinearInt4(x, q, s, b) : Float32Gemm.LinearInt8(x, q, s, b);
        // A few large values, as activations have: their blocks' other values keep fewer of their bits.
        var x = randn([m, k], generator: g).mul(randn([m, k], generator: g).abs().gt(Scalars.Of(2.5)).mul(Scalars.Of(30)).add(Scalars.One, Scalars.One));
        var wq = int4 ? Int4Quantizer.Dequantize(q, s, ScalarType.Float64) : q.to(ScalarType.Float64) * s.to(ScalarType.Float64).unsqueeze(1);
        var want = x.to(ScalarType.Float64).matmul(wq.t()).add(b.to(ScalarType.Float64), Scalars.One);
        bool saved = Float32Gemm.Enabled;
        Float32Gemm.Enabled = true;
        try
        {
            int packed = Molmo.Model.Kernels.CpuGemm.CallsOnThisThread;
            var got = Product(x);
            Assert.Equal(packed + 1, Molmo.Model.Kernels.CpuGemm.CallsOnThisThread);
            Assert.NotNull(got);
            Assert.Equal(ScalarType.Float32, got!.dtype);
            CpuGemvTests.AssertWithinInt16Bound(want, got, x, wq);
            // bf16 x: its float32 widening's result, rounded once.
            var xb = x.to(ScalarType.BFloat16);
            var fromBf16 = Product(xb)!;
            var widened = Product(xb.to(ScalarType.Float32))!.to(ScalarType.BFloat16);
            Assert.True(fromBf16.eq(widened).all().item<bool>(), $"max |Δ| {(fromBf16 - widened).abs().max().to(ScalarType.Float32).item<float>()}");
        }
        finally { Float32Gemm.Enabled = saved; }
    }

    [Theory]
    [InlineData(300, 517, 151)]     // as the bf16 case: every register block edge, three K blocks, three blocks of weight rows
    [InlineData(64, 4096, 70)]
    public void Float32WeightsThroughThePackedGemmMatchTheFloat64Product(int n, int k, int m)
    {
        if (!Molmo.Model.Kernels.CpuGemm.IsSupported) return;    // no AVX2 and FMA: float32 weights stay on libtorch
        using var scope = NewDisposeScope();
        using var g = new TorchSharp.torch.Generator(11);
        var w = randn([n, k], generator: g);
        var b = randn([n], generator: g);
        var x = randn([m, k], generator: g);
        var x64 = x.to(ScalarType.Float64);
        var w64 = w.to(ScalarType.Float64);
        var reference = x64.matmul(w64.t()).add(b.to(ScalarType.Float64), Scalars.One);
        // Each float32 product rounded (half an ulp), then K float32 sums and the bias.
        var bound = x64.abs().matmul(w64.abs().t()).add(b.to(ScalarType.Float64).abs(), Scalars.One).mul(Scalars.Of((k + 2) * Math.Pow(2, -23)));
        int packed = Molmo.Model.Kernels.CpuGemm.CallsOnThisThread;
        var got = Float32Gemm.Linear(x, w, b);
        Assert.Equal(packed + 1, Molmo.Model.Kernels.CpuGemm.CallsOnThisThread);
        Assert.Equal(ScalarType.Float32, got.dtype);
        var err = (got.to(ScalarType.Float64) - reference).abs();
        Assert.False(err.gt(bound).any().item<bool>(), $"max |Δ| {err.max().item<double>()} beyond the bound");
    }

    [Theory]
    [InlineData("tiny_d_style")]
    [InlineData("tiny_o_style")]
    public void Float32CheckpointsMatchTheGoldenLogitsThroughThePackedGemm(string variant)
    {
        if (!Molmo.Model.Kernels.CpuGemm.IsSupported) return;
        // Where the route is on (CPUs without AVX-512; forced on here so that every CPU runs it), a float32 model's prefill-sized
        // products take the packed GEMM, and the reference's logits hold at the float32 tests' bound (TinyGoldenForwardTests);
        // with the baseline switch they go to libtorch's float32 GEMM instead.
        var dir = Golden.TinyDir(variant);
        using var model = Molmo.Checkpoints.ModelLoader.Load(dir, new ModelPlacement(ScalarType.Float32, CPU));
        var expected = Golden.Read(Path.Combine(dir, "img_100x100.golden.safetensors"), "logits");
        bool saved = Float32Gemm.Enabled;
        try
        {
            foreach (bool packed in new[] { true, false })
            {
                (Float32Gemm.Enabled, Float32Gemm.WidenedSlices) = (true, !packed);
                Assert.Equal(packed, Float32Gemm.TakesFloat32Weights);
                int before = Molmo.Model.Kernels.CpuGemm.CallsOnThisThread;
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                using var output = model.Forward(TinyInputs.Load(variant, "img_100x100"));
                int calls = Molmo.Model.Kernels.CpuGemm.CallsOnThisThread - before;
                if (packed) Assert.True(calls > 10, $"{calls} products packed");
                else Assert.Equal(0, calls);
                Golden.AssertClose(expected, output.Logits[0], 1e-4, 0, $"logits ({(packed ? "packed GEMM" : "libtorch")})");
            }
        }
        finally { (Float32Gemm.Enabled, Float32Gemm.WidenedSlices) = (saved, false); }
    }

    [Fact]
    public void EachResultIsItsOwnWhileTheSumsBufferIsReused()
    {
        // bf16 results are rounded from float32 sums kept between products: a later product must not change an earlier result.
        using var scope = NewDisposeScope();
        using var g = new TorchSharp.torch.Generator(5);
        var w = randn([96, 40], generator: g).to(ScalarType.BFloat16);
        var first = Float32Gemm.Linear(randn([70, 40], generator: g).to(ScalarType.BFloat16), w, null);
        var copy = first.clone();
        using var second = Float32Gemm.Linear(randn([70, 40], generator: g).to(ScalarType.BFloat16), w, null);
        Assert.True(first.eq(copy).all().item<bool>());
        Assert.False(first.eq(second).all().item<bool>());
    }

    [Fact]
    public void LibTorchsBf16GemmIsCountedFastExactlyWithAvx512()
    {
        // libtorch takes oneDNN for bf16 where the CPU has AVX-512 F, BW, VL and DQ; the flags the kernel reports say which.
        var flags = File.ReadAllLines("/proc/cpuinfo").First(l => l.StartsWith("flags", StringComparison.Ordinal)).Split(':', 2)[1].Split(' ').ToHashSet();
        bool avx512 = new[] { "avx512f", "avx512bw", "avx512vl", "avx512dq" }.All(flags.Contains);
        Assert.Equal(avx512, Float32Gemm.LibTorchBf16GemmIsFast);
        // And the default follows it, on a thread that has not chosen.
        bool? seen = null;
        var t = new Thread(() => seen = Float32Gemm.Enabled);
        t.Start();
        t.Join();
        Assert.Equal(!avx512, seen);
        // Decode-sized bf16 products: the kernel takes every batch it can where libtorch's bf16 GEMM is slow.
        if (Molmo.Model.Kernels.CpuGemv.IsSupported && !System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
            Assert.Equal(avx512 ? 1 : Molmo.Model.Kernels.CpuGemv.MaxRows, Linear.Bf16KernelMaxRows);
    }

    [Fact]
    public void RefusesMismatchedShapesByName()
    {
        using var scope = NewDisposeScope();
        var w = zeros([8, 16], ScalarType.BFloat16);
        var e = Assert.Throws<ArgumentException>(() => Float32Gemm.Linear(zeros([3, 12]), w, null));
        Assert.Contains("x [3, 12]", e.Message);
        Assert.Contains("weight [8, 16]", e.Message);
        Assert.Throws<ArgumentException>(() => Float32Gemm.Linear(zeros([3, 16]), zeros([16], ScalarType.BFloat16), null));
    }
}
