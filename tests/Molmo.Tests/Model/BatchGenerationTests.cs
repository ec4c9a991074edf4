using Molmo.Checkpoints;
using Molmo.Generation;
using Molmo.Model;
using static TorchSharp.torch;

namespace Molmo.Tests.Model;

/// <summary>Batched decoding of independent requests (different images and lengths) equals running them one at a time.</summary>
public class BatchGenerationTests
{
    [Theory]
    [InlineData("tiny_d_style")]
    [InlineData("tiny_o_style")]
    public void BatchedGreedyEqualsOneAtATimeAndTheReference(string variant)
    {
        var dir = Golden.TinyDir(variant);
        var cfg = MolmoConfig.Load(dir);
        using var model = ModelLoader.Load(dir, Golden.Float32);
        using var scope = NewDisposeScope();
        var cases = new[] { "img_100x100", "text_only", "img_480x640", "text_only" };
        var requests = cases.Select(c => TinyInputs.Load(variant, c)).ToList();
        var batch = new BatchGenerator(model, cfg.SpecialTokens!.Eos).Generate(requests, new GenerationOptions { MaxNewTokens = 16 });
        var single = new Molmo.Generation.Generator(model, cfg.SpecialTokens.Eos);
        for (int i = 0; i < cases.Length; i++)
        {
            var alone = single.Generate(requests[i], new GenerationOptions { MaxNewTokens = 16 }).Select(t => t.Id).ToArray();
            Assert.Equal(alone, batch[i].Ids);
            var golden = Golden.GreedyIds(Path.Combine(dir, $"{cases[i]}.greedy.json"));
            Assert.Equal(golden.Select(x => (int)x), batch[i].Ids);
        }
    }

    [Fact]
    public void BatchedSamplingEqualsOneAtATimeWithTheSameSeed()
    {
        var dir = Golden.TinyDir("tiny_d_style");
        var cfg = MolmoConfig.Load(dir);
        using var model = ModelLoader.Load(dir, Golden.Float32);
        using var scope = NewDisposeScope();
        var requests = new[] { "text_only", "img_100x100" }.Select(c => TinyInputs.Load("tiny_d_style", c)).ToList();
        var opts = new GenerationOptions { MaxNewTokens = 10, Temperature = 1.0, TopK = 40, Seed = 123, StopOnEos = false };
        var batch = new BatchGenerator(model, cfg.SpecialTokens!.Eos).Generate(requests, opts);
        var single = new Molmo.Generation.Generator(model, cfg.SpecialTokens.Eos);
        for (int i = 0; i < requests.Count; i++)
            Assert.Equal(single.Generate(requests[i], opts).Select(t => t.Id), batch[i].Ids);
    }
}
