using Molmo.Checkpoints;
using Molmo.Generation;
using Molmo.Model;
using static TorchSharp.torch;

namespace Molmo.Tests.Model;

/// <summary>
/// A prompt prefilled padded to a bucket of lengths (a GPU's default, forced here on the CPU) gives the logits of its own
/// length's prefill and a cache that holds just the prompt, so decoding goes on as before; generators make room for the
/// padding and still give the golden tokens; where the padding cannot apply, the prompt is prefilled as it is.
/// </summary>
public class PrefillBucketTests
{
    static readonly ForwardOptions LastLogits = new() { AllLogits = false };

    [Theory]
    [InlineData("tiny_d_style", "img_100x100")]
    [InlineData("tiny_o_style", "text_only")]
    public void APaddedPrefillGivesThePromptsLogitsAndCache(string variant, string @case)
    {
        using var model = ModelLoader.Load(Golden.TinyDir(variant), Golden.Float32);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var inputs = TinyInputs.Load(variant, @case);
        int s = (int)inputs.InputIds.shape[1];
        var next = new ModelInputs(tensor(new long[] { 3 }, [1, 1]));

        using var plainCache = model.NewCache(1, s + 64);
        var plain = model.Forward(inputs, plainCache, LastLogits).Logits;
        var plainNext = model.Forward(next, plainCache, LastLogits).Logits;

        model.PrefillBucket = 64;
        int padded = model.PrefillLength(s);
        Assert.True(padded > s && padded % 64 == 0);
        using var cache = model.NewCache(1, s + 64);
        var bucketed = model.Prefill(inputs, cache).Logits;
        Assert.Equal(s, cache.Length);
        var bucketedNext = model.Forward(next, cache, LastLogits).Logits;
        Assert.True((plain - bucketed).abs().max().item<float>() < 1e-4, "prefill logits differ");
        Assert.True((plainNext - bucketedNext).abs().max().item<float>() < 1e-4, "next step's logits differ");

        // No room for the padding, or padding ids of the prompt's own: prefilled as it is (the same logits exactly).
        using var tight = model.NewCache(1, s);
        Assert.True((plain - model.Prefill(inputs, tight).Logits).abs().max().item<float>() == 0);
        Assert.Equal(s, tight.Length);
    }

    [Fact]
    public void GeneratorsWithPaddedPrefillsGiveTheGoldenTokens()
    {
        var dir = Golden.TinyDir("tiny_d_style");
        int eos = MolmoConfig.Load(dir).SpecialTokens!.Eos;
        using var model = ModelLoader.Load(dir, Golden.Float32);
        model.PrefillBucket = 64;
        using var scope = NewDisposeScope();
        var cases = new[] { "img_100x100", "text_only", "img_480x640" };
        var requests = cases.Select(c => TinyInputs.Load("tiny_d_style", c)).ToList();
        var golden = cases.Select(c => Golden.GreedyIds(Path.Combine(dir, $"{c}.greedy.json")).Select(x => (int)x).ToArray()).ToList();
        // One token only: the cache is made for the padded prompt, not just prompt + answer.
        var one = new GenerationOptions { MaxNewTokens = 1 };
        for (int i = 0; i < cases.Length; i++)
        {
            foreach (var (pipelined, steps) in new[] { (false, DecodeSteps.Eager), (true, DecodeSteps.Eager), (true, DecodeSteps.FixedShape) })
            {
                var generator = new Molmo.Generation.Generator(model, eos) { Pipelined = pipelined, Steps = steps };
                Assert.Equal(golden[i], generator.Generate(requests[i], new GenerationOptions { MaxNewTokens = golden[i].Length }).Select(t => t.Id));
                Assert.Equal(golden[i].Take(1), generator.Generate(requests[i], one).Select(t => t.Id));
            }
            using var prefixes = new PrefixCache(model, minTokens: 4);
            Assert.Equal(golden[i], new Molmo.Generation.Generator(model, eos) { Prefixes = prefixes }
                .Generate(requests[i], new GenerationOptions { MaxNewTokens = golden[i].Length }).Select(t => t.Id));
        }
        var batch = new BatchGenerator(model, eos).Generate(requests, requests.Select((_, i) => new GenerationOptions { MaxNewTokens = golden[i].Length }).ToList(), maxBatch: 2);
        for (int i = 0; i < cases.Length; i++) Assert.Equal(golden[i], batch[i].Ids);
    }
}
