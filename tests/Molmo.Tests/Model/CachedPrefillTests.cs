using Molmo.Checkpoints;
using Molmo.Model;
using static TorchSharp.torch;

namespace Molmo.Tests.Model;

/// <summary>
/// A prompt prefilled in two pieces (the second attends over the cached first, with a causal mask offset by the prefix) gives
/// the logits of one whole prefill, and the next decode step agrees too. On the CPU a bf16 model's cache is bf16 and attention
/// over it runs in float32, so this covers the cached-prefix path in both cache dtypes. Both attention routes of a continued
/// prompt are checked: libtorch's SDPA (the CPU's) and the grouped GEMMs (a GPU's, forced here).
/// </summary>
public class CachedPrefillTests
{
    [Theory]
    [InlineData("tiny_d_style", "fp32", 1e-4, false)]
    [InlineData("tiny_o_style", "fp32", 1e-4, false)]
    [InlineData("tiny_d_style", "bf16", 0.1, false)]
    [InlineData("tiny_o_style", "int8", 0.1, false)]
    [InlineData("tiny_d_style", "fp32", 1e-4, true)]
    [InlineData("tiny_o_style", "fp32", 1e-4, true)]
    [InlineData("tiny_d_style", "bf16", 0.1, true)]
    public void PrefillInTwoPiecesEqualsOnePiece(string variant, string dtype, double bound, bool grouped)
    {
        DecoderBlock.GroupedContinuation = grouped;
        try { TwoPieces(variant, dtype, bound); }
        finally { DecoderBlock.GroupedContinuation = null; }
    }

    /// <summary>The grouped GEMM route equals SDPA over repeated K/V heads, for a continued prompt's causal mask and for a
    /// mask of its own per row.</summary>
    [Fact]
    public void GroupedAttentionEqualsSdpa()
    {
        using var scope = NewDisposeScope();
        var gen = new TorchSharp.torch.Generator(7);
        long b = 2, heads = 6, kvHeads = 2, s = 5, len = 12, hd = 8;
        var q = randn([b, heads, s, hd], generator: gen);
        var k = randn([b, kvHeads, len, hd], generator: gen);
        var v = randn([b, kvHeads, len, hd], generator: gen);
        var positions = Scalars.Arange(0, len, ScalarType.Int64);
        var causal = positions.unsqueeze(0).le(Scalars.Arange(len - s, len, ScalarType.Int64).unsqueeze(1)).view(1, 1, s, len);
        var perRow = causal.logical_and(rand([b, 1, 1, len], generator: gen).gt(Scalars.Of(0.3)))
            .logical_or(causal.logical_and(positions.ge(Scalars.Of(len - s))));
        foreach (var mask in new[] { causal, perRow })
        {
            var expected = nn.functional.scaled_dot_product_attention(q, k.repeat_interleave(3, 1), v.repeat_interleave(3, 1), attn_mask: mask)
                .transpose(1, 2).reshape(b, s, heads * hd);
            var actual = DecoderBlock.GroupedAttention(q, k, v, mask);
            Assert.Equal(expected.shape, actual.shape);
            Assert.True((expected - actual).abs().max().item<float>() < 1e-5);
        }
    }

    static void TwoPieces(string variant, string dtype, double bound)
    {
        var dir = Golden.TinyDir(variant);
        using var model = ModelLoader.Load(dir, Molmo.Runtime.TorchRuntime.ParsePlacement(dtype, CPU));
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = TinyInputs.Load(variant, "text_only").InputIds;
        long s = ids.shape[1], cut = s / 2;
        var options = new ForwardOptions { AllLogits = false };
        var next = tensor(new long[] { 7 }).view(1, 1);

        using var whole = model.NewCache(1, (int)s + 1);
        var oneLogits = model.Forward(new ModelInputs(ids), whole, options).Logits;
        var oneNext = model.Forward(new ModelInputs(next), whole, options).Logits;

        using var pieces = model.NewCache(1, (int)s + 1);
        model.Forward(new ModelInputs(ids.narrow(1, 0, cut)), pieces, options).Dispose();
        var twoLogits = model.Forward(new ModelInputs(ids.narrow(1, cut, s - cut)), pieces, options).Logits;
        var twoNext = model.Forward(new ModelInputs(next), pieces, options).Logits;

        Assert.True((oneLogits - twoLogits).abs().max().item<float>() <= bound, $"{dtype}: prefill logits differ");
        Assert.True((oneNext - twoNext).abs().max().item<float>() <= bound, $"{dtype}: next-step logits differ");
    }
}
