using Molmo.Checkpoints;
using Molmo.Runtime;
using static TorchSharp.torch;

namespace Molmo.Model;

/// <summary>
/// One decoder layer (spec §5.7), both released dense layouts in one class, driven by the config:
/// Qwen2 style (7B-D, 72B): pre-norm, GQA, bias on the fused QKV; OLMo style (7B-O): q/k RMSNorm over the whole projection
/// and norm-after branches. Keys <c>att_proj, attn_out, attn_norm, ff_norm, ff_proj, ff_out, q_norm, k_norm</c>.
/// </summary>
public sealed class DecoderBlock : nn.Module
{
#pragma warning disable IDE0044
    Linear att_proj, attn_out, ff_proj, ff_out;
    RMSNorm attn_norm, ff_norm;
    RMSNorm? q_norm, k_norm;
#pragma warning restore IDE0044
    readonly int _d, _heads, _kvHeads, _headDim, _ffn;
    readonly bool _normAfter;

    public DecoderBlock(MolmoConfig c, ModelPlacement p) : base(nameof(DecoderBlock))
    {
        _d = c.HiddenSize; _heads = c.NumHeads; _kvHeads = c.NumKeyValueHeads; _headDim = c.HeadDim; _ffn = c.FfnWidth;
        _normAfter = c.NormAfter;
        att_proj = new Linear(_d, c.QkvWidth, c.QkvBias, p, quantizable: true);
        attn_out = new Linear(_d, _d, false, p, quantizable: true);
        ff_proj = new Linear(_d, c.IntermediateSize, false, p, quantizable: true);
        ff_out = new Linear(_ffn, _d, false, p, quantizable: true);
        attn_norm = new RMSNorm(_d, c.LayerNormEps, p);
        ff_norm = new RMSNorm(_d, c.LayerNormEps, p);
        if (c.AttentionLayerNorm)
        {
            q_norm = new RMSNorm(_d, c.LayerNormEps, p);
            k_norm = new RMSNorm(_kvHeads * _headDim, c.LayerNormEps, p);
        }
        RegisterComponents();
    }

    /// <summary>
    /// x [B, S, D] at positions given by (cos, sin) [1, S, 1, hd], or [B, 1, 1, hd] for one position per row. With a cache,
    /// k/v are written into it and attention runs over everything cached; <paramref name="mask"/> (bool, true = attend,
    /// broadcastable to [B, H, S, L]) is needed only when S &gt; 1 and the cache already holds a prefix, or for padded batches;
    /// otherwise attention is plainly causal. <paramref name="continued"/>: the mask is exactly that of a prompt continued
    /// after the cached positions (query i at position L − S + i sees the keys up to it), with no padding, so the CPU kernel
    /// may apply it itself.
    /// </summary>
    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, KvCache? cache, int layer, Tensor? mask, bool continued = false)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], s = x.shape[1];

        var h = _normAfter ? x : attn_norm.forward(x);
        var qkv = att_proj.forward(h);
        long kvWidth = _kvHeads * _headDim;
        // q, k and v as [B, S, heads, hd] views of the fused projection; RoPE in that layout (its tables are [1, S, 1, hd]).
        Tensor q, k, v = qkv.narrow(-1, _d + kvWidth, kvWidth).view(b, s, _kvHeads, _headDim);
        if (q_norm is null)
        {
            // q and k are adjacent in the fused projection: rotate them as one [B, S, H + KV, hd] tensor (half the ops of
            // rotating each; a GPU decode step is bound by their number).
            var qk = RotaryEmbedding.Apply(qkv.narrow(-1, 0, _d + kvWidth).view(b, s, _heads + _kvHeads, _headDim), cos, sin);
            q = qk.narrow(2, 0, _heads);
            k = qk.narrow(2, _heads, _kvHeads);
        }
        else
        {
            // OLMo style: q/k RMSNorm over each whole projection first, then RoPE.
            q = RotaryEmbedding.Apply(q_norm.forward(qkv.narrow(-1, 0, _d)).view(b, s, _heads, _headDim), cos, sin);
            k = RotaryEmbedding.Apply(k_norm!.forward(qkv.narrow(-1, _d, kvWidth)).view(b, s, _kvHeads, _headDim), cos, sin);
        }
        (q, k, v) = (q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2));                // [B, heads, S, hd]
        if (cache is not null) (k, v) = cache.Append(layer, k, v);

        var att = Attention(q, k, v, mask, causal: cache is null || cache.Length == 0, cached: cache is not null, continued);    // [B, S, D]
        att = attn_out.forward(att.dtype == x.dtype ? att : att.to(x.dtype));
        if (_normAfter) att = attn_norm.forward(att);
        x = x.add(att, Scalars.One);   // x + att, with an alpha that stays alive (Runtime/Scalars)

        h = _normAfter ? x : ff_norm.forward(x);
        var up = ff_proj.forward(h);
        // SwiGLU with the gate in the *second* half of ff_proj's output: silu(b) ⊙ a.
        var halves = up.chunk(2, -1);
        h = ff_out.forward(nn.functional.silu(halves[1]) * halves[0]);
        if (_normAfter) h = ff_norm.forward(h);
        return x.add(h, Scalars.One).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One decode step's attention (spec §5.7), q [B, H, 1, hd] against the cached k, v [B, KV, L, hd] → [B, 1, H·hd]. The query
    /// heads of each KV head are folded into the query-length axis so K/V are never repeated; a mask here is [B, 1, 1, L] (the
    /// unused tail of shorter rows in a batch of different lengths).
    /// </summary>
    public static Tensor DecodeAttention(Tensor q, Tensor k, Tensor v, Tensor? mask)
    {
        if (Linear.UseCpuKernels && Kernels.CpuAttention.CanRun(q, k, v)) return Kernels.CpuAttention.Decode(q, k, v, mask);
        // libtorch: on the CPU in float32 (its bf16 batched matmul for these shapes is many times slower; a float32 cache
        // makes these no-ops).
        if (k.device_type == TorchSharp.DeviceType.CPU) (q, k, v) = InFloat32(q, k, v);
        return GroupedAttention(q, k, v, mask);
    }

    /// <summary>q, k, v in float32 (libtorch's attention over a cache on the CPU: a bf16 cache is read in float32).</summary>
    static (Tensor, Tensor, Tensor) InFloat32(Tensor q, Tensor k, Tensor v) => (Float32(q), Float32(k), Float32(v));

    static Tensor Float32(Tensor t) => t.dtype == ScalarType.Float32 ? t : t.to(ScalarType.Float32);

    /// <summary>
    /// Whether a prompt continued after cached positions (a follow-up question from the prefix cache, the next turn of a
    /// conversation) runs <see cref="GroupedAttention"/> instead of libtorch's SDPA: null (default) on a GPU, for up to
    /// <see cref="GroupedContinuationMaxRows"/> new positions. On CUDA SDPA sets itself up for every new pair of query and key
    /// lengths (~40 ms, stack notes §8.1), and each continuation has a pair of its own; the GEMMs of the grouped route do not.
    /// On the CPU SDPA has no such cost. Tests set it (for their own thread) to force either route.
    /// </summary>
    [ThreadStatic] internal static bool? GroupedContinuation;

    /// <summary>Most new positions a continued prompt sends to <see cref="GroupedAttention"/> on a GPU.</summary>
    internal const int GroupedContinuationMaxRows = 128;

    /// <summary>
    /// Attention of S query positions over L keys in libtorch ops, in the cache's dtype, as two batched GEMMs with the query
    /// heads of each KV head folded into the rows ([B·KV, G·S, hd] × [B·KV, hd, L], views of the cache: its batch and head
    /// axes merge), so K/V are never repeated: q [B, H, S, hd], k, v [B, KV, L, hd], mask (bool, true = attend) broadcastable
    /// to [B, 1, S, L] or null → [B, S, H·hd]. A decode step on a GPU (S = 1, four kernels), where a step is bound by the
    /// number of ops, and a continued prompt there (<see cref="GroupedContinuation"/>).
    /// </summary>
    internal static Tensor GroupedAttention(Tensor q, Tensor k, Tensor v, Tensor? mask)
    {
        long b = q.shape[0], heads = q.shape[1], s = q.shape[2], headDim = q.shape[3], kvHeads = k.shape[1], len = k.shape[2];
        long g = heads / kvHeads;
        if (k.dtype != q.dtype) q = q.to(k.dtype);
        // Query head h = kv·G + j (each KV head serves G consecutive query heads): rows (j, s) of the KV head's block.
        var qg = q.reshape(b * kvHeads, g * s, headDim);
        var scores = matmul(qg, k.reshape(b * kvHeads, len, headDim).transpose(1, 2)).mul_(Scalars.Of(1.0 / Math.Sqrt(headDim)));
        if (mask is not null)
            using (var blocked = mask.logical_not().view(mask.shape[0], 1, 1, s, len))
                scores.view(b, kvHeads, g, s, len).masked_fill_(blocked, Scalars.Of(float.NegativeInfinity));
        // A bf16 softmax accumulates in float32 and rounds once to bf16: the values of a float32 softmax cast to bf16, in one
        // kernel instead of three.
        var o = matmul(scores.softmax(-1), v.reshape(b * kvHeads, len, headDim));            // [B·KV, G·S, hd]
        // One position: [B·KV, G, hd] is already [B, 1, H·hd] in memory.
        return s == 1 ? o.view(b, 1, heads * headDim) : o.view(b, heads, s, headDim).transpose(1, 2).reshape(b, s, heads * headDim);
    }

    Tensor Attention(Tensor q, Tensor k, Tensor v, Tensor? mask, bool causal, bool cached, bool continued = false)
    {
        long b = q.shape[0], s = q.shape[2], len = k.shape[2];
        int groups = _heads / _kvHeads;
        if (s == 1 && (mask is null || mask.shape[2] == 1)) return DecodeAttention(q, k, v, mask);
        // A prompt without padding on the CPU, whole or continued after cached positions (unless a test forces the grouped
        // route): the engine's kernel, in float32 as libtorch's route over a cache runs it, with the causal offset its own.
        if ((mask is null || continued) && GroupedContinuation != true
            && Linear.UseCpuKernels && Kernels.CpuSequenceAttention.Enabled && Kernels.CpuSequenceAttention.CanRun(q, k, v))
            return Kernels.CpuSequenceAttention.Attend(q, k, v, continued || causal && s == len);
        if (cached && mask is not null
            && (GroupedContinuation ?? (k.device_type != TorchSharp.DeviceType.CPU && s <= GroupedContinuationMaxRows)))
            return GroupedAttention(q, k, v, mask);
        // Over a cache on the CPU, attention runs in float32 whatever the cache holds (a bf16 cache for bf16 models).
        if (cached && k.device_type == TorchSharp.DeviceType.CPU) (q, k, v) = InFloat32(q, k, v);
        else if (k.dtype != q.dtype) q = q.to(k.dtype);
        // GQA: each K/V head serves `groups` consecutive query heads (repeat_interleave).
        var kr = groups == 1 ? k : k.repeat_interleave(groups, 1);
        var vr = groups == 1 ? v : v.repeat_interleave(groups, 1);
        var att = mask is null
            ? nn.functional.scaled_dot_product_attention(q, kr, vr, is_casual: causal && s == len)
            : nn.functional.scaled_dot_product_attention(q, kr, vr, attn_mask: mask);
        return att.transpose(1, 2).reshape(b, s, _heads * _headDim);
    }
}
