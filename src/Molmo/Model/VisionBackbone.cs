using Molmo.Checkpoints;
using static TorchSharp.torch;

namespace Molmo.Model;

/// <summary>What the vision path produced, kept for golden comparisons and inspection.</summary>
public sealed record VisionOutputs(Tensor Projected, Tensor? Encoded, Tensor? FirstLayer, Tensor? LastLayer);

/// <summary>
/// Crops → image tokens (spec §5.1–5.4): ViT, concatenation of two block outputs, padding embeddings, 2×2 attention pooling,
/// SwiGLU projection to the decoder width.
/// </summary>
public sealed class VisionBackbone : nn.Module
{
#pragma warning disable IDE0044
    VisionTransformer image_vit;
    MultiHeadDotProductAttention image_pooling_2d;   // used by AttentionPool2x2
    ImageProjector image_projector;
    TorchSharp.Modules.Parameter pad_embed;
#pragma warning restore IDE0044
    readonly MolmoConfig _cfg;

    public VisionBackbone(MolmoConfig cfg, ModelPlacement p) : base(nameof(VisionBackbone))
    {
        _cfg = cfg;
        var v = cfg.Vision;
        int featDim = v.EmbDim * cfg.VitLayers.Length;
        image_vit = new VisionTransformer(v, p);
        image_pooling_2d = new MultiHeadDotProductAttention(featDim, v.NumHeads, v.HeadDim, v.EmbDim, p);
        image_projector = new ImageProjector(v.EmbDim, cfg.FfnWidth, cfg.HiddenSize, p);
        pad_embed = p.Empty(2, featDim);
        RegisterComponents();
    }

    /// <summary>images [T, 576, 588], imageMasks [T, 576] → projected image tokens [T, 144, D].</summary>
    public Tensor Forward(Tensor images, Tensor imageMasks) => ForwardDetailed(images, imageMasks, keepIntermediates: false).Projected;

    public VisionOutputs ForwardDetailed(Tensor images, Tensor imageMasks, bool keepIntermediates)
    {
        using var scope = NewDisposeScope();
        int n = _cfg.Vision.NumLayers;
        var wanted = _cfg.VitLayers.Select(l => l < 0 ? n + l : l).ToList();
        var keep = new HashSet<int>(wanted);
        if (keepIntermediates) { keep.Add(0); keep.Add(n - 1); }
        var layers = image_vit.Encode(images, keep);
        // Concatenate the chosen block outputs (−2 then −9) along channels and drop the class token.
        var picked = wanted.Select(l => layers[l]).ToArray();
        var features = cat(picked, -1).narrow(1, 1, images.shape[1]);                           // [T, 576, 2E]
        // Crops that are entirely −1 are batch padding: their features are zeroed.
        var isPadCrop = images.eq(Runtime.Scalars.Of(-1.0)).all(2).all(1).view(-1, 1, 1);
        features = features.masked_fill(isPadCrop, Runtime.Scalars.Of(0.0));
        var encoded = features;

        // pad_and_partial_pad (§5.2): rows of image_masks line up with crops *by position* — the legacy one-row shift
        // (§3.7) that the released weights were trained with is already in the mask tensor, so nothing is corrected here.
        var m = imageMasks.to(ScalarType.Float32);
        var allPad = m.eq(Runtime.Scalars.Of(0.0)).to(ScalarType.Float32).unsqueeze(-1);
        var partialPad = m.lt(Runtime.Scalars.Of(1.0)).logical_and(m.ne(Runtime.Scalars.Of(0.0))).to(ScalarType.Float32).unsqueeze(-1);
        var pe = pad_embed.to(ScalarType.Float32);
        var padded = features.to(ScalarType.Float32).add(pe[0] * allPad, Runtime.Scalars.One).add(pe[1] * partialPad, Runtime.Scalars.One);
        features = padded.to(features.dtype);

        var pooled = AttentionPool2x2.Forward(image_pooling_2d, features);                                         // [T, 144, E]
        var projected = image_projector.forward(pooled);                                         // [T, 144, D]
        return keepIntermediates
            ? new VisionOutputs(projected.MoveToOuterDisposeScope(), encoded.MoveToOuterDisposeScope(),
                                layers[0].MoveToOuterDisposeScope(), layers[n - 1].MoveToOuterDisposeScope())
            : new VisionOutputs(projected.MoveToOuterDisposeScope(), null, null, null);
    }
}
