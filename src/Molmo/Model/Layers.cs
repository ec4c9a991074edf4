using TorchSharp;
using static TorchSharp.torch;

namespace Molmo.Model;

/// <summary>Where and in which precision a model's parameters live.</summary>
public sealed record ModelPlacement(ScalarType DType, Device Device)
{
    public static ModelPlacement CpuFloat32 => new(ScalarType.Float32, CPU);

    /// <summary>Allocates an uninitialised parameter (weights are loaded or initialised afterwards).</summary>
    internal TorchSharp.Modules.Parameter Empty(params long[] shape) => new(torch.empty(shape, DType, Device), requires_grad: false);
}

/// <summary><c>y = x·Wᵀ (+ b)</c> with fields <c>weight</c> [out, in] and optional <c>bias</c> [out], as in the checkpoints.</summary>
public sealed class Linear : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE0044
    TorchSharp.Modules.Parameter weight;
    TorchSharp.Modules.Parameter? bias;
#pragma warning restore IDE0044

    public long InFeatures { get; }
    public long OutFeatures { get; }
    public Tensor Weight => weight;
    public Tensor? Bias => bias;

    public Linear(long inFeatures, long outFeatures, bool hasBias, ModelPlacement p) : base(nameof(Linear))
    {
        InFeatures = inFeatures; OutFeatures = outFeatures;
        weight = p.Empty(outFeatures, inFeatures);
        bias = hasBias ? p.Empty(outFeatures) : null;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        return nn.functional.linear(x, weight, bias);
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
    readonly double _eps;

    public RMSNorm(long dim, double eps, ModelPlacement p) : base(nameof(RMSNorm))
    {
        _eps = eps;
        weight = p.Empty(dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var xf = x.dtype == ScalarType.Float32 ? x : x.to(ScalarType.Float32);
        var normed = xf * torch.rsqrt(xf.pow(2).mean([-1L], keepdim: true) + _eps);
        var y = normed.dtype == x.dtype ? normed : normed.to(x.dtype);
        return (weight * y).MoveToOuterDisposeScope();
    }
}
