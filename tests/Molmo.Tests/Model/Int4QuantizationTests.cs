using Molmo.Checkpoints;
using Molmo.Generation;
using Molmo.Model;
using Molmo.Model.Kernels;
using static TorchSharp.torch;

namespace Molmo.Tests.Model;

/// <summary>
/// The int4 format (<see cref="Int4Quantizer"/>): group sizes, the nibble layout, the rounding, and both dequantisers.
/// </summary>
public class Int4QuantizerTests
{
    [Theory]
    [InlineData(3584, 64)]
    [InlineData(18944, 64)]
    [InlineData(192, 32)]
    [InlineData(96, 16)]
    [InlineData(64, 32)]
    public void GroupSizeIsTheLargestWhosePairOfGroupsDividesTheRow(int k, int g)
    {
        Assert.Equal(g, Int4Quantizer.GroupSize(k));
        Assert.Equal(0, k % (2 * g));
    }

    [Fact]
    public void RowsThatAreNotAMultipleOf32AreRefusedByName()
    {
        var e = Assert.Throws<ArgumentException>(() => Int4Quantizer.GroupSize(100));
        Assert.Contains("100 columns", e.Message);
        Assert.Contains("int8", e.Message);
        using var w = randn(4, 100);
        Assert.Throws<ArgumentException>(() => Int4Quantizer.Quantize(w));
    }

    [Theory]
    [InlineData(5, 256)]
    [InlineData(3, 96)]
    [InlineData(7, 64)]
    public void WeightsOnTheGridComeBackExactlyInTheDocumentedLayout(int n, int k)
    {
        using var scope = NewDisposeScope();
        int g = Int4Quantizer.GroupSize(k);
        // Integers in [−8, 7] with each group's first value −8 (its largest magnitude, so its scale is exactly recovered),
        // times a scale per group (powers of two: the products are exact).
        var rng = new Random(3);
        var q = new int[n, k];
        var scale = new float[n, k / g];
        var w = new float[n * k];
        for (int r = 0; r < n; r++)
            for (int gi = 0; gi < k / g; gi++)
            {
                scale[r, gi] = MathF.Pow(2, rng.Next(-6, 3)) * (rng.Next(2) == 0 ? 1 : -1);
                for (int j = 0; j < g; j++)
                {
                    int c = gi * g + j;
                    q[r, c] = j == 0 ? -8 : rng.Next(-7, 8);
                    w[r * k + c] = q[r, c] * scale[r, gi];
                }
            }
        var (packed, s) = Int4Quantizer.Quantize(tensor(w).view(n, k));
        Assert.Equal(new long[] { n, k / 2 }, packed.shape);
        Assert.Equal(ScalarType.Byte, packed.dtype);
        var bytes = packed.data<byte>().ToArray();
        var scales = s.data<float>().ToArray();
        for (int r = 0; r < n; r++)
        {
            for (int gi = 0; gi < k / g; gi++) Assert.Equal(scale[r, gi], scales[r * (k / g) + gi]);
            // Chunk c of 2g columns is g bytes: byte j holds column 2g·c + j (low nibble) and 2g·c + g + j (high), as 4-bit
            // two's complement.
            for (int c = 0; c < k / (2 * g); c++)
                for (int j = 0; j < g; j++)
                {
                    int expected = (q[r, 2 * g * c + j] & 15) | ((q[r, 2 * g * c + g + j] & 15) << 4);
                    Assert.Equal(expected, bytes[r * (k / 2) + c * g + j]);
                }
        }
        Assert.True(Int4Quantizer.Dequantize(packed, s, ScalarType.Float32).equal(tensor(w).view(n, k)).all().item<bool>());
    }

    [Theory]
    [InlineData(33, 3584)]
    [InlineData(9, 192)]
    [InlineData(6, 96)]
    [InlineData(3, 18944)]
    public void QuantisingRoundsToTheNearestLevel(int n, int k)
    {
        using var scope = NewDisposeScope();
        int g = Int4Quantizer.GroupSize(k);
        var w = randn(n, k).mul(Scalars.Of(3));
        var (packed, s) = Int4Quantizer.Quantize(w);
        var step = s.abs().repeat_interleave(g, 1);                          // each column's |scale|
        var err = (Int4Quantizer.Dequantize(packed, s, ScalarType.Float32) - w).abs();
        // Half a step, except values past +7 steps on the side opposite the group's extreme (clamped): under one step.
        var ratio = w / s.repeat_interleave(g, 1);
        var clamped = ratio.gt(Scalars.Of(7.5));
        Assert.True(err.le(step.mul(Scalars.Of(0.5)).add(Scalars.Of(1e-6), Scalars.One)).logical_or(clamped).all().item<bool>(), $"max error {(err / step).max().item<float>()} steps");
        Assert.True(err.le(step.add(Scalars.Of(1e-6), Scalars.One)).all().item<bool>());
        // The same as the definition in tensor ops: the first value of largest magnitude over −8 is the scale, then float32
        // division, round half to even (torch.round) and the clamp.
        var groups = w.view(n, k / g, g);
        var extreme = groups.gather(2, groups.abs().argmax(2, keepdim: true));
        var sRef = extreme.div(Scalars.Of(-8.0));
        var qRef = groups.div(sRef).round().clamp(Scalars.Of(-8), Scalars.Of(7));
        Assert.True(s.equal(sRef.view(n, k / g)).all().item<bool>());
        Assert.True(Int4Quantizer.Dequantize(packed, s, ScalarType.Float32).equal(qRef.mul(sRef).view(n, k)).all().item<bool>());
        // bf16 input quantises the same values.
        var (pb, sb) = Int4Quantizer.Quantize(w.to(ScalarType.BFloat16));
        var (pw, sw) = Int4Quantizer.Quantize(w.to(ScalarType.BFloat16).to(ScalarType.Float32));
        Assert.True(pb.equal(pw).all().item<bool>() && sb.equal(sw).all().item<bool>());
        // A strided view quantises like its contiguous copy.
        var (pt, st) = Int4Quantizer.Quantize(w.t().contiguous().t());
        Assert.True(pt.equal(packed).all().item<bool>() && st.equal(s).all().item<bool>());
    }

    [Theory]
    [InlineData(70, 3584)]
    [InlineData(5, 192)]
    [InlineData(4, 96)]
    public void TheCpuDequantiserEqualsTheTensorOne(int n, int k)
    {
        using var scope = NewDisposeScope();
        var (packed, s) = Int4Quantizer.Quantize(randn(n, k).mul(Scalars.Of(5)));
        var fast = Int4Quantizer.DequantizeBf16(packed, s);
        Assert.True(fast.equal(Int4Quantizer.Dequantize(packed, s, ScalarType.BFloat16)).all().item<bool>());
        var into = empty([n, k], ScalarType.BFloat16);
        Int4Quantizer.DequantizeBf16(packed, s, into);
        Assert.True(into.equal(fast).all().item<bool>());
        Assert.Throws<ArgumentException>(() => Int4Quantizer.DequantizeBf16(packed, s, empty([n, k + 2], ScalarType.BFloat16)));
    }

    [Fact]
    public void ZeroGroupsAreZeroAndNonFiniteGroupsPoisonOnlyThemselves()
    {
        using var scope = NewDisposeScope();
        var w = randn(2, 128);
        w[0, TensorIndex.Slice(0, 64)] = tensor(0f);
        w[1, 70] = tensor(float.NaN);
        var (packed, s) = Int4Quantizer.Quantize(w);
        Assert.Equal(0f, s[0, 0].item<float>());
        Assert.True(float.IsNaN(s[1, 1].item<float>()));
        var back = Int4Quantizer.Dequantize(packed, s, ScalarType.Float32);
        Assert.True(back[0, TensorIndex.Slice(0, 64)].eq(Scalars.Of(0)).all().item<bool>());
        Assert.True(back[1, TensorIndex.Slice(64, 128)].isnan().all().item<bool>());
        Assert.True(back[1, TensorIndex.Slice(0, 64)].isfinite().all().item<bool>());
    }

    [Fact]
    public void QuantizeIntoChecksItsTargetsAndFillsNonContiguousOnes()
    {
        using var scope = NewDisposeScope();
        var w = randn(6, 256);
        var (packed, s) = Int4Quantizer.Quantize(w);
        var e = Assert.Throws<ArgumentException>(() => Int4Quantizer.QuantizeInto(w, empty([6, 256], ScalarType.Byte), empty([6, 4])));
        Assert.Contains("uint8 [6, 128]", e.Message);
        Assert.Throws<ArgumentException>(() => Int4Quantizer.QuantizeInto(w, empty([6, 128], ScalarType.Int8), empty([6, 4])));
        var strided = empty([128, 6], ScalarType.Byte).t();
        var scales = empty([6, 4]);
        Int4Quantizer.QuantizeInto(w, strided, scales);
        Assert.True(strided.equal(packed).all().item<bool>() && scales.equal(s).all().item<bool>());
    }
}

/// <summary>The int4 CPU kernel (<see cref="CpuGemv.LinearInt4"/>) against a float64 product of the dequantised weights.</summary>
public class Int4KernelTests
{
    public static TheoryData<int, int, int> Shapes => new()
    {
        { 37, 3584, 1 }, { 64, 384, 1 }, { 64, 384, 3 }, { 41, 256, 4 }, { 70, 1152, 16 }, { 9, 640, 64 }, { 13, 18944, 2 },
        { 12, 96, 1 }, { 12, 96, 5 }, { 9, 64, 3 }, { 30, 192, 7 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Int4KernelMatchesFloat64Product(int n, int k, int m)
    {
        if (!CpuGemv.SupportsInt4) return;   // no kernel on this CPU: Linear dequantises instead (tested below)
        using var scope = NewDisposeScope();
        var (packed, s) = Int4Quantizer.Quantize(randn(n, k));
        var bias = randn(n);
        var x = randn(m, k).mul(Scalars.Of(2));
        var got = CpuGemv.LinearInt4(x, packed, s, bias);
        Assert.Equal(new long[] { m, n }, got.shape);
        var w = Int4Quantizer.Dequantize(packed, s, ScalarType.Float64);
        var want = nn.functional.linear(x.to(ScalarType.Float64), w, bias.to(ScalarType.Float64));
        CpuGemvTests.AssertWithinInt16Bound(want, got, x, w);
        // bf16 in, bf16 out: the same product of x's bf16 values, rounded once.
        var xb = x.to(ScalarType.BFloat16);
        var gotB = CpuGemv.LinearInt4(xb, packed, s, bias);
        Assert.Equal(ScalarType.BFloat16, gotB.dtype);
        Assert.True(gotB.equal(CpuGemv.LinearInt4(xb.to(ScalarType.Float32), packed, s, bias).to(ScalarType.BFloat16)).all().item<bool>());
    }

    [Theory]
    [InlineData(37, 3584)]
    [InlineData(22, 384)]
    [InlineData(12, 96)]
    public void RowsOfABatchEqualTheRowAloneBitForBit(int n, int k)
    {
        if (!CpuGemv.SupportsInt4) return;
        using var scope = NewDisposeScope();
        var (packed, s) = Int4Quantizer.Quantize(randn(n, k));
        var bias = randn(n);
        CpuGemvTests.AssertRowsOfABatchEqualTheRowAlone(k, x => CpuGemv.LinearInt4(x, packed, s, bias));
    }

    [Fact]
    public void MismatchedScalesAndWidthsAreRefused()
    {
        if (!CpuGemv.SupportsInt4) return;
        using var scope = NewDisposeScope();
        var (packed, s) = Int4Quantizer.Quantize(randn(8, 256));
        Assert.Contains("scales", Assert.Throws<ArgumentException>(() => CpuGemv.LinearInt4(randn(1, 256), packed, randn(8, 5), null)).Message);
        Assert.Contains("input width", Assert.Throws<ArgumentException>(() => CpuGemv.LinearInt4(randn(1, 128), packed, s, null)).Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(9)]
    [InlineData(100)]    // prefill-sized: dequantised for libtorch's GEMM
    public void AnInt4LayerMatchesItsDequantisedWeights(int rows)
    {
        using var scope = NewDisposeScope();
        foreach (var dtype in new[] { ScalarType.BFloat16, ScalarType.Float32 })
        {
            var layer = new Linear(384, 40, hasBias: true, new ModelPlacement(dtype, CPU) { Int4Decoder = true }, quantizable: true);
            var p = layer.named_parameters().ToDictionary(x => x.name, x => x.parameter);
            Assert.Equal(ScalarType.Byte, p["weight"].dtype);
            Assert.Equal(new long[] { 40, 192 }, p["weight"].shape);
            Assert.Equal(new long[] { 40, 6 }, p["weight_scale"].shape);
            using (no_grad())
            {
                Int4Quantizer.QuantizeInto(randn(40, 384), p["weight"], p["weight_scale"]);
                p["bias"].copy_(randn(40));
            }
            var x = randn(1, rows, 384).to(dtype);
            var got = layer.forward(x).to(ScalarType.Float64);
            var w = Int4Quantizer.Dequantize(p["weight"], p["weight_scale"], ScalarType.Float64);
            var want = nn.functional.linear(x.to(ScalarType.Float64), w, p["bias"].to(ScalarType.Float64));
            // bf16: the output's own rounding (and prefill's bf16 weights); float32: x's rounding to 16 bits (half a step of
            // max|x| / 32767 on every weight) and float32 sums.
            double tol = dtype == ScalarType.BFloat16 ? 0.02 * want.abs().max().item<double>() + 0.05
                : x.abs().max().item<float>() / 65534.0 * w.abs().sum(1).max().item<double>() + 1e-4;
            Assert.True((got - want).abs().max().item<double>() <= tol, $"{dtype}, {rows} rows: {(got - want).abs().max().item<double>()}");
        }
    }
}

/// <summary>
/// <c>--dtype int4</c> on the tiny golden checkpoints, loaded from their float32 files. Two checks: the engine computes the
/// quantised model it claims to (against the float32 model given the dequantised matrices: only x's 16-bit rounding apart),
/// and the quantised model stays within int4's stated quality bound of the float32 reference for these checkpoints (max |Δ|
/// under 1.5 and mean under 0.25 on logits of magnitude ~4; bf16 alone: 0.25 and 0.03). Greedy ids are not compared: these
/// random-weight models have near-ties that any rounding flips.
/// </summary>
public class Int4GoldenTests
{
    [Theory]
    [InlineData("tiny_d_style", "img_100x100")]
    [InlineData("tiny_o_style", "text_only")]
    [InlineData("tiny_d_style", "text_only")]
    public void Int4LogitsStayWithinTheStatedBound(string variant, string @case)
    {
        var dir = Golden.TinyDir(variant);
        // On the test device: on CUDA (MOLMO_TEST_DEVICE=cuda) these narrow matrices (64 and 96 columns, not multiples of the
        // CUDA kernel's 128) are dequantised by libtorch for each product; CudaQuantGemvTests cover the kernel.
        using var model = ModelLoader.Load(dir, Molmo.Runtime.TorchRuntime.ParsePlacement("int4", Golden.TestDevice));
        Assert.Contains(model.named_parameters(), p => p.name.EndsWith("att_proj.weight") && p.parameter.dtype == ScalarType.Byte);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var output = model.Forward(TinyInputs.Load(variant, @case));
        var reference = Golden.Read(Path.Combine(dir, $"{@case}.golden.safetensors"), "logits");
        var diff = (output.Logits[0].cpu() - reference).abs();
        Assert.True(diff.max().item<float>() < 1.5, $"max |Δ| {diff.max().item<float>()}");
        Assert.True(diff.mean().item<float>() < 0.25, $"mean |Δ| {diff.mean().item<float>()}");
        // Decode steps (the kernel's single rows) teacher-forced along the reference's ids, within the same bound.
        TeacherForced.AssertStepsWithin(model, variant, @case, 1.5, "int4");
    }

    [Theory]
    [InlineData("tiny_d_style", "img_100x100")]
    [InlineData("tiny_o_style", "img_100x100")]
    public void TheInt4ModelComputesItsDequantisedWeights(string variant, string @case)
    {
        var dir = Golden.TinyDir(variant);
        // float32 activations around the int4 matrices, against the float32 model holding the dequantised matrices.
        using var int4 = ModelLoader.Load(Path.Combine(dir, "sharded"), new ModelPlacement(ScalarType.Float32, CPU) { Int4Decoder = true });
        using var plain = ModelLoader.Load(dir, ModelPlacement.CpuFloat32);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var quantised = int4.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        int replaced = 0;
        foreach (var (name, p) in plain.named_parameters())
            if (quantised.TryGetValue(name + "_scale", out var scale))
            {
                p.copy_(Int4Quantizer.Dequantize(quantised[name], scale, ScalarType.Float32));
                replaced++;
            }
        Assert.True(replaced >= 4 * plain.Config.NumLayers, $"{replaced} matrices quantised");
        var inputs = TinyInputs.Load(variant, @case);
        using var a = int4.Forward(inputs);
        using var b = plain.Forward(inputs);
        var diff = (a.Logits - b.Logits).abs().max().item<float>();
        Assert.True(diff < 2e-3, $"int4 model vs its dequantised weights: max |Δ| {diff}");
        // The same through decode steps (kernel rows) against the plain model's steps.
        var ids = Golden.GreedyIds(Path.Combine(dir, $"{@case}.greedy.json"));
        var stepsA = TeacherForced.Logits(int4, inputs, ids, 4);
        var stepsB = TeacherForced.Logits(plain, inputs, ids, 4);
        for (int i = 0; i < 4; i++)
            Assert.True((stepsA[i] - stepsB[i]).abs().max().item<float>() < 2e-3, $"step {i}");
    }
}
