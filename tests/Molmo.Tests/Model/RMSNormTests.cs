using Molmo.Model;
using static TorchSharp.torch;

namespace Molmo.Tests.Model;

/// <summary>
/// RMSNorm (libtorch's rms_norm, reached through TorchScript) against the reference's steps written out: upcast to float32,
/// x·rsqrt(mean(x²) + eps), cast back, then × weight. Bit for bit on the CPU, in float32 and bf16, on a view; and gradients
/// flow through it (for fine-tuning).
/// </summary>
public class RMSNormTests
{
    static Tensor Reference(Tensor x, Tensor weight, double eps)
    {
        var xf = x.to(ScalarType.Float32);
        var normed = (xf * rsqrt(xf.pow(Scalars.Of(2)).mean([-1L], keepdim: true).add(Scalars.Of(eps), Scalars.One))).to(x.dtype);
        return weight * normed;
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    public void MatchesTheReferenceStepsBitForBit(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        using var g = new TorchSharp.torch.Generator(7);
        using var norm = new RMSNorm(96, 1e-6, new ModelPlacement(dtype, CPU));
        var weight = norm.parameters().Single();
        using (no_grad()) weight.copy_(randn([96], generator: g).mul(Scalars.Of(0.5)).add(Scalars.One, Scalars.One));
        var x = randn([2, 5, 3 * 96], generator: g).mul(Scalars.Of(3)).to(dtype).narrow(-1, 96, 96);   // a view into a wider projection
        var got = norm.forward(x);
        Assert.Equal(dtype, got.dtype);
        Assert.True(got.equal(Reference(x, weight, 1e-6)).all().item<bool>());
        var tiny = randn([4, 96], generator: g).mul(Scalars.Of(1e-4)).to(dtype);                     // where eps matters
        Assert.True(norm.forward(tiny).equal(Reference(tiny, weight, 1e-6)).all().item<bool>());
    }

    [Fact]
    public void GradientsFlowToTheInputAndTheWeight()
    {
        using var scope = NewDisposeScope();
        using var norm = new RMSNorm(16, 1e-6, new ModelPlacement(ScalarType.Float32, CPU));
        var weight = norm.parameters().Single();
        using (no_grad()) weight.fill_(Scalars.Of(1.5));
        weight.requires_grad = true;
        var x = randn(3, 16).requires_grad_(true);
        norm.forward(x).pow(Scalars.Of(2)).sum().backward();
        var xr = x.detach().clone().requires_grad_(true);
        var wr = weight.detach().clone().requires_grad_(true);
        Reference(xr, wr, 1e-6).pow(Scalars.Of(2)).sum().backward();
        Assert.True((x.grad! - xr.grad!).abs().max().item<float>() < 1e-5);
        Assert.True((weight.grad! - wr.grad!).abs().max().item<float>() < 1e-4);
    }
}
