using Molmo.Checkpoints;
using static TorchSharp.torch;

namespace Molmo.Model;

/// <summary>The ViT MLP: <c>w2(quick_gelu(w1 x))</c>, quick_gelu(x) = x·sigmoid(1.702·x).</summary>
public sealed class VitFeedForward : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE0044
    Linear w1, w2;
#pragma warning restore IDE0044

    public VitFeedForward(int dim, int hidden, ModelPlacement p) : base(nameof(VitFeedForward))
    {
        w1 = new Linear(dim, hidden, true, p);
        w2 = new Linear(hidden, dim, true, p);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = w1.forward(x);
        h = h * sigmoid(h.mul(Runtime.Scalars.Of(1.702)));
        return w2.forward(h).MoveToOuterDisposeScope();
    }
}

/// <summary>One pre-LN ViT block: <c>x += attention(attention_norm(x)); x += feed_forward(ffn_norm(x))</c>.</summary>
public sealed class ResidualAttentionBlock : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE0044
    MultiHeadDotProductAttention attention;
    VitFeedForward feed_forward;
    LayerNorm attention_norm, ffn_norm;
#pragma warning restore IDE0044

    public ResidualAttentionBlock(VisionConfig c, ModelPlacement p) : base(nameof(ResidualAttentionBlock))
    {
        attention = new MultiHeadDotProductAttention(c.EmbDim, c.NumHeads, c.HeadDim, c.EmbDim, p);
        feed_forward = new VitFeedForward(c.EmbDim, c.MlpDim, p);
        attention_norm = new LayerNorm(c.EmbDim, c.NormEps, p);
        ffn_norm = new LayerNorm(c.EmbDim, c.NormEps, p);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = x.add(attention.forward(attention_norm.forward(x)), Runtime.Scalars.One);
        x = x.add(feed_forward.forward(ffn_norm.forward(x)), Runtime.Scalars.One);
        return x.MoveToOuterDisposeScope();
    }
}

/// <summary>Holder of the ViT blocks, so their keys read <c>image_vit.transformer.resblocks.{j}</c>.</summary>
public sealed class VitBlockStack : nn.Module
{
#pragma warning disable IDE0044
    TorchSharp.Modules.ModuleList<ResidualAttentionBlock> resblocks;
#pragma warning restore IDE0044

    public IEnumerable<ResidualAttentionBlock> Blocks => resblocks;

    public VitBlockStack(VisionConfig c, ModelPlacement p) : base(nameof(VitBlockStack))
    {
        resblocks = new TorchSharp.Modules.ModuleList<ResidualAttentionBlock>();
        for (int j = 0; j < c.NumLayers; j++) resblocks.Add(new ResidualAttentionBlock(c, p));
        RegisterComponents();
    }
}

/// <summary>
/// CLIP-style ViT (spec §5.1): linear patch embedding (no bias), class token, learned positions, pre-LN in float32,
/// then the blocks. <see cref="Encode"/> returns the output of every block (the caller picks layers −2 and −9).
/// </summary>
public sealed class VisionTransformer : nn.Module
{
#pragma warning disable IDE0044
    TorchSharp.Modules.Parameter class_embedding;
    TorchSharp.Modules.Parameter positional_embedding;
    Linear patch_embedding;
    LayerNorm pre_ln;
    VitBlockStack transformer;
#pragma warning restore IDE0044
    readonly VisionConfig _c;

    public VisionTransformer(VisionConfig c, ModelPlacement p) : base(nameof(VisionTransformer))
    {
        _c = c;
        class_embedding = p.Empty(c.EmbDim);
        positional_embedding = p.Empty(c.NumPos, c.EmbDim);
        patch_embedding = new Linear(c.PatchPixels, c.EmbDim, false, p);
        pre_ln = new LayerNorm(c.EmbDim, c.NormEps, p);
        transformer = new VitBlockStack(c, p);
        RegisterComponents();
    }

    /// <summary>
    /// patches [T, 576, 588] → the outputs of the blocks listed in <paramref name="keep"/> (0-based), each [T, 577, E].
    /// Other block outputs are released as soon as the next block has consumed them (only two layers are ever needed), and the
    /// blocks after the deepest kept one are not run.
    /// </summary>
    public Dictionary<int, Tensor> Encode(Tensor patches, IReadOnlySet<int> keep)
    {
        long t = patches.shape[0], n = patches.shape[1];
        if (n + 1 != _c.NumPos)
            throw new ArgumentException($"the ViT expects {_c.NumPos - 1} patches per crop, got {n} (position-embedding interpolation is not needed for 336-px crops)");
        var x = patch_embedding.forward(patches.to(class_embedding.dtype));                      // [T, 576, E]
        var cls = class_embedding.view(1, 1, -1).expand(t, 1, -1).to(x.dtype);
        x = cat([cls, x], 1).add(positional_embedding.unsqueeze(0).to(x.dtype), Runtime.Scalars.One);   // [T, 577, E]
        x = pre_ln.forward(x);
        var outs = new Dictionary<int, Tensor>();
        int j = 0, last = keep.Count == 0 ? -1 : keep.Max();
        foreach (var block in transformer.Blocks)
        {
            if (j > last) break;   // blocks after the deepest kept one cannot change it (7B-D: the 23rd of 23, 4 % of the ViT)
            var next = block.forward(x);
            if (j > 0 && !keep.Contains(j - 1)) x.Dispose();
            x = next;
            if (keep.Contains(j)) outs[j] = x;
            j++;
        }
        return outs;
    }
}
