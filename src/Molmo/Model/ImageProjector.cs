using static TorchSharp.torch;

namespace Molmo.Model;

/// <summary>SwiGLU projector (spec §5.4): <c>w2(silu(w1·f) ⊙ (w3·f))</c>, no biases. Keys <c>image_projector.w1/w2/w3</c>.</summary>
public sealed class ImageProjector : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE0044
    Linear w1, w2, w3;
#pragma warning restore IDE0044

    public ImageProjector(int inputDim, int hidden, int outputDim, ModelPlacement p) : base(nameof(ImageProjector))
    {
        w1 = new Linear(inputDim, hidden, false, p);
        w2 = new Linear(hidden, outputDim, false, p);
        w3 = new Linear(inputDim, hidden, false, p);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return w2.forward(nn.functional.silu(w1.forward(x)) * w3.forward(x)).MoveToOuterDisposeScope();
    }
}
