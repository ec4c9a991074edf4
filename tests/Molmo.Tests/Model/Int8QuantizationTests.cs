using Molmo.Checkpoints;
using Molmo.Generation;
using Molmo.Model;
using static TorchSharp.torch;

namespace Molmo.Tests.Model;

/// <summary>
/// Weight-only int8 (per-output-row scales) on the tiny golden checkpoints: the logits stay close to the float32 reference and
/// greedy decoding starts with the same tokens. The bound (0.1 absolute on logits of magnitude ~4) is the documented quality
/// contract of --dtype int8 for these checkpoints.
/// </summary>
public class Int8QuantizationTests
{
    [Theory]
    [InlineData("tiny_d_style", "img_100x100")]
    [InlineData("tiny_o_style", "text_only")]
    public void Int8StaysCloseToTheReference(string variant, string @case)
    {
        var dir = Golden.TinyDir(variant);
        var cfg = MolmoConfig.Load(dir);
        using var model = ModelLoader.Load(dir, new ModelPlacement(ScalarType.Float32, CPU, Int8Decoder: true));
        Assert.Contains(model.named_parameters(), p => p.name.EndsWith("att_proj.weight") && p.parameter.dtype == ScalarType.Int8);
        var golden = Path.Combine(dir, $"{@case}.golden.safetensors");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var inputs = TinyInputs.Load(variant, @case);
        using var output = model.Forward(inputs);
        var reference = Golden.Read(golden, "logits");
        var maxAbs = (output.Logits[0] - reference).abs().max().item<float>();
        Assert.True(maxAbs < 0.1, $"int8 logits deviate by {maxAbs}");

        // Greedy: decode-sized steps go through the int8 GEMV kernel.
        var expected = Golden.GreedyIds(Path.Combine(dir, $"{@case}.greedy.json"));
        var got = new Molmo.Generation.Generator(model, cfg.SpecialTokens!.Eos)
            .Generate(inputs, new GenerationOptions { MaxNewTokens = 4 }).Select(t => (long)t.Id).ToArray();
        Assert.Equal(expected.Take(4), got);
    }

    [Fact]
    public void QuantizerRoundTripsWithinHalfAStep()
    {
        using var scope = NewDisposeScope();
        var w = randn(33, 70).mul(Scalars.Of(3));
        var (q, s) = Int8Quantizer.Quantize(w);
        Assert.Equal(ScalarType.Int8, q.dtype);
        var back = q.to(ScalarType.Float32) * s.unsqueeze(1);
        var err = (back - w).abs() - s.unsqueeze(1).mul(Scalars.Of(0.5));
        Assert.True(err.max().item<float>() <= 1e-5);
    }

    [Fact]
    public void FastQuantizerEqualsTheTensorArithmetic()
    {
        using var scope = NewDisposeScope();
        // Widths with and without a tail after the 16-wide vector body; a 7B-D row width in both dtypes.
        foreach (var w in new[] { randn(40, 333).mul(Scalars.Of(2)), randn(17, 64).to(ScalarType.BFloat16), zeros(3, 8), randn(9, 3584).to(ScalarType.BFloat16),
                                  randn(5, 3591).mul(Scalars.Of(7)), randn(6, 1031).to(ScalarType.BFloat16).mul(Scalars.Of(40)) })
        {
            var (q, s) = Int8Quantizer.Quantize(w);                       // one-pass CPU path
            var (qRef, sRef) = Int8Quantizer.Quantize(w.t().contiguous().t());  // non-contiguous input: the tensor path
            Assert.True(q.equal(qRef).all().item<bool>());
            Assert.True(s.equal(sRef).all().item<bool>());
            // Straight into a layer's tensors (as loading does), and through temporaries into non-contiguous ones.
            var (qInto, sInto) = (empty(w.shape, ScalarType.Int8), empty([w.shape[0]], ScalarType.Float32));
            Int8Quantizer.QuantizeInto(w, qInto, sInto);
            Assert.True(qInto.equal(qRef).all().item<bool>() && sInto.equal(sRef).all().item<bool>());
            var qStrided = empty([w.shape[1], w.shape[0]], ScalarType.Int8).t();
            Int8Quantizer.QuantizeInto(w, qStrided, sInto);
            Assert.True(qStrided.equal(qRef).all().item<bool>());
        }
    }
}

/// <summary>
/// <c>--dtype int8</c> as it loads (int8 matrices, bf16 activations) on the test device, teacher-forced along the reference's
/// greedy ids: every decode step's logits stay within the bf16 bound of <see cref="Bf16GoldenTests"/> (0.25 absolute) of the
/// float32 reference. On the CPU the steps run the int8 kernel's integer products; on CUDA (<c>MOLMO_TEST_DEVICE=cuda</c>) the
/// CUDA int8 kernel, which must have loaded there.
/// </summary>
public class Int8DecodeOnTheTestDeviceTests
{
    [Theory]
    [InlineData("tiny_d_style", "img_100x100")]
    [InlineData("tiny_o_style", "text_only")]
    public void DecodeStepsStayWithinTheBf16Bound(string variant, string @case)
    {
        var device = Golden.TestDevice;
        using var model = ModelLoader.Load(Golden.TinyDir(variant), Molmo.Runtime.TorchRuntime.ParsePlacement("int8", device));
        long launches = Molmo.Runtime.CudaQuantGemv.Launches;
        TeacherForced.AssertStepsWithin(model, variant, @case, 0.25, "int8");
        if (device.type == TorchSharp.DeviceType.CUDA)
            Assert.True(Molmo.Runtime.CudaQuantGemv.Launches > launches,
                $"the decode steps did not use the CUDA int8 kernel: {Molmo.Runtime.CudaQuantGemv.Unavailable(Math.Max(0, (int)device.index)) ?? "not tried"}");
        else Assert.Equal(launches, Molmo.Runtime.CudaQuantGemv.Launches);
    }
}

/// <summary>
/// bf16 on the tiny golden checkpoints: logits within 0.25 absolute (mean 0.03) of the float32 reference. Greedy ids are not
/// compared: these random-weight models have near-ties (top-2 gap 0.005–0.011 at the first step) that bf16 rounding flips.
/// </summary>
public class Bf16GoldenTests
{
    [Theory]
    [InlineData("tiny_d_style", "img_100x100")]
    [InlineData("tiny_o_style", "img_100x100")]
    [InlineData("tiny_d_style", "text_only")]
    public void Bf16LogitsStayWithinTheStatedBound(string variant, string @case)
    {
        var dir = Golden.TinyDir(variant);
        using var model = ModelLoader.Load(dir, new ModelPlacement(ScalarType.BFloat16, Golden.TestDevice));
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var output = model.Forward(TinyInputs.Load(variant, @case));
        var diff = (output.Logits[0].cpu() - Golden.Read(Path.Combine(dir, $"{@case}.golden.safetensors"), "logits")).abs();
        Assert.True(diff.max().item<float>() < 0.25, $"max |Δ| {diff.max().item<float>()}");
        Assert.True(diff.mean().item<float>() < 0.03, $"mean |Δ| {diff.mean().item<float>()}");
    }
}
