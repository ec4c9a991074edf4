using static TorchSharp.torch;

namespace Molmo.Model;

/// <summary>
/// 2×2 attention pooling with a mean query ("attention-meanq", spec §5.3): each 2×2 window of patch features is
/// pooled by multi-head attention whose query is the window's mean. Keys <c>image_pooling_2d.wq/wk/wv/wo</c>.
/// </summary>
public sealed class AttentionPool2x2 : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE0044
    Linear wq, wk, wv, wo;
#pragma warning restore IDE0044
    readonly int _heads, _headDim;

    public AttentionPool2x2(int inputDim, int heads, int headDim, int outputDim, ModelPlacement p) : base(nameof(AttentionPool2x2))
    {
        _heads = heads; _headDim = headDim;
        wq = new Linear(inputDim, heads * headDim, true, p);
        wk = new Linear(inputDim, heads * headDim, true, p);
        wv = new Linear(inputDim, heads * headDim, true, p);
        wo = new Linear(heads * headDim, outputDim, true, p);
        RegisterComponents();
    }

    /// <summary>features [T, G·G, C] on a G×G patch grid (G even) → [T, (G/2)², out].</summary>
    public override Tensor forward(Tensor features)
    {
        using var scope = NewDisposeScope();
        long t = features.shape[0], c = features.shape[2];
        long g = (long)Math.Round(Math.Sqrt(features.shape[1]));
        if (g * g != features.shape[1] || g % 2 != 0)
            throw new ArgumentException($"pooling expects an even square patch grid, got {features.shape[1]} patches");
        long h = g / 2;
        // [T, G, G, C] → windows (wy, wx) holding patches (2wy+a, 2wx+b), (a, b) row-major → [T·h·h, 4, C]
        var windows = features.view(t, h, 2, h, 2, c).permute(0, 1, 3, 2, 4, 5).reshape(t * h * h, 4, c);
        var query = windows.mean([1L], keepdim: true);                                          // [N, 1, C]
        var q = SplitHeads(wq.forward(query)).to(ScalarType.Float32);
        var k = SplitHeads(wk.forward(windows)).to(ScalarType.Float32);
        var v = SplitHeads(wv.forward(windows)).to(ScalarType.Float32);
        var o = nn.functional.scaled_dot_product_attention(q, k, v)                            // [N, H, 1, hd]
            .to(features.dtype).transpose(1, 2).reshape(t * h * h, 1, _heads * _headDim);
        return wo.forward(o).view(t, h * h, -1).MoveToOuterDisposeScope();                   // [T, h², out]
    }

    Tensor SplitHeads(Tensor x) => x.view(x.shape[0], x.shape[1], _heads, _headDim).transpose(1, 2);
}
