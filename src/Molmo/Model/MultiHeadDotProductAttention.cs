using static TorchSharp.torch;

namespace Molmo.Model;

/// <summary>
/// Bidirectional multi-head attention with biases on wq/wk/wv/wo: the ViT blocks' <c>attention</c> and the pooling's
/// <c>image_pooling_2d</c> (whose input is the two concatenated ViT layers).
/// q, k and v run in float32 like the reference (<c>float32_attention</c>), scale 1/√head_dim. On the CPU the ViT's long
/// sequences go through the engine's kernel (<see cref="Kernels.CpuSequenceAttention"/>), the rest through libtorch's SDPA.
/// </summary>
public sealed class MultiHeadDotProductAttention : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE0044
    Linear wq, wk, wv, wo;
#pragma warning restore IDE0044
    readonly int _heads, _headDim;

    public MultiHeadDotProductAttention(int inputDim, int heads, int headDim, int outputDim, ModelPlacement p)
        : base(nameof(MultiHeadDotProductAttention))
    {
        _heads = heads; _headDim = headDim;
        wq = new Linear(inputDim, heads * headDim, true, p);
        wk = new Linear(inputDim, heads * headDim, true, p);
        wv = new Linear(inputDim, heads * headDim, true, p);
        wo = new Linear(heads * headDim, outputDim, true, p);
        RegisterComponents();
    }

    /// <summary>Self-attention: x [N, L, in] → [N, L, out].</summary>
    public override Tensor forward(Tensor x) => Attend(x, x);

    /// <summary>Attention of <paramref name="query"/> [N, Lq, in] over <paramref name="keys"/> [N, Lk, in] → [N, Lq, out].</summary>
    public Tensor Attend(Tensor query, Tensor keys)
    {
        using var scope = NewDisposeScope();
        var q = SplitHeads(wq.forward(query));
        var k = SplitHeads(wk.forward(keys));
        var v = SplitHeads(wv.forward(keys));
        var dtype = q.dtype;
        Tensor o;
        if (Linear.UseCpuKernels && Kernels.CpuSequenceAttention.Enabled && Kernels.CpuSequenceAttention.CanRun(q, k, v))
            o = Kernels.CpuSequenceAttention.Attend(q, k, v, causal: false).to(dtype);   // the same float32 arithmetic, [N, Lq, H·hd]
        else
        {
            o = nn.functional.scaled_dot_product_attention(q.to(ScalarType.Float32), k.to(ScalarType.Float32), v.to(ScalarType.Float32));
            // [N, H, Lq, hd] → [N, Lq, H·hd]
            o = o.to(dtype).transpose(1, 2).reshape(query.shape[0], query.shape[1], _heads * _headDim);
        }
        return wo.forward(o).MoveToOuterDisposeScope();
    }

    Tensor SplitHeads(Tensor x) => x.view(x.shape[0], x.shape[1], _heads, _headDim).transpose(1, 2);
}
