using Molmo.Checkpoints;
using Molmo.Model;
using static TorchSharp.torch;

namespace Molmo.Tests.Model;

/// <summary>
/// A prompt prefilled in two pieces (the second attends over the cached first, with a causal mask offset by the prefix) gives
/// the logits of one whole prefill, and the next decode step agrees too. On the CPU a bf16 model's cache is bf16 and attention
/// over it runs in float32, so this covers the cached-prefix path in both cache dtypes.
/// </summary>
public class CachedPrefillTests
{
    [Theory]
    [InlineData("tiny_d_style", "fp32", 1e-4)]
    [InlineData("tiny_o_style", "fp32", 1e-4)]
    [InlineData("tiny_d_style", "bf16", 0.1)]
    [InlineData("tiny_o_style", "int8", 0.1)]
    public void PrefillInTwoPiecesEqualsOnePiece(string variant, string dtype, double bound)
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
