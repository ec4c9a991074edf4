using Molmo.Checkpoints;
using Molmo.Generation;
using Molmo.Model;
using static TorchSharp.torch;

namespace Molmo.Tests.Model;

/// <summary>
/// Batched decoding of independent requests (different images and lengths) equals running them one at a time, also when
/// there are more requests than rows (a finished row takes the next request) and each request has its own options.
/// </summary>
public class BatchGenerationTests
{
    /// <summary>A golden tiny checkpoint in float32 and its EOS id.</summary>
    static (MolmoForCausalLM Model, int Eos) Load(string variant)
    {
        var dir = Golden.TinyDir(variant);
        return (ModelLoader.Load(dir, Golden.Float32), MolmoConfig.Load(dir).SpecialTokens!.Eos);
    }

    static List<ModelInputs> Inputs(string variant, params string[] cases) => cases.Select(c => TinyInputs.Load(variant, c)).ToList();

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
        var (model, eos) = Load("tiny_d_style");
        using var _ = model;
        using var scope = NewDisposeScope();
        var requests = Inputs("tiny_d_style", "text_only", "img_100x100");
        var opts = new GenerationOptions { MaxNewTokens = 10, Temperature = 1.0, TopK = 40, Seed = 123, StopOnEos = false };
        var batch = new BatchGenerator(model, eos).Generate(requests, opts);
        var single = new Molmo.Generation.Generator(model, eos);
        for (int i = 0; i < requests.Count; i++)
            Assert.Equal(single.Generate(requests[i], opts).Select(t => t.Id), batch[i].Ids);
    }

    [Fact]
    public void MoreRequestsThanRowsRefillFinishedRowsWithTheSameResults()
    {
        var (model, eos) = Load("tiny_d_style");
        using var _ = model;
        using var scope = NewDisposeScope();
        var requests = Inputs("tiny_d_style", "text_only", "img_100x100", "img_480x640", "text_only", "img_100x100");
        // Different budgets, so rows finish at different steps and are refilled while the others are mid-answer; one request
        // samples with its own seed among greedy ones.
        var options = new[] { 3, 11, 6, 1, 9 }.Select((m, i) => new GenerationOptions
        {
            MaxNewTokens = m, StopOnEos = false,
            Temperature = i == 2 ? 0.8 : 0, Seed = 7,
        }).ToList();
        var order = new List<(string Event, int Request)>();
        var batch = new BatchGenerator(model, eos).Generate(requests, options, maxBatch: 2,
            onStart: r => order.Add(("start", r)), onFinish: (r, _) => order.Add(("finish", r)));
        var single = new Molmo.Generation.Generator(model, eos);
        for (int i = 0; i < requests.Count; i++)
        {
            Assert.Equal(single.Generate(requests[i], options[i]).Select(t => t.Id), batch[i].Ids);
            Assert.Equal(options[i].MaxNewTokens, batch[i].Ids.Count);
            Assert.Equal(FinishReason.MaxTokens, batch[i].FinishReason);
        }
        // Two rows: requests 2… start only as earlier ones finish.
        Assert.Equal([("start", 0), ("start", 1), ("finish", 0), ("start", 2)], order.Take(4));
        Assert.Equal(5, order.Count(e => e.Event == "finish"));
    }

    [Fact]
    public void ACallerCanEndARequestAndCancelTheBatch()
    {
        var (model, eos) = Load("tiny_d_style");
        using var _ = model;
        using var scope = NewDisposeScope();
        var requests = Inputs("tiny_d_style", "text_only", "img_100x100");
        var options = requests.Select(_ => new GenerationOptions { MaxNewTokens = 8, StopOnEos = false }).ToList();
        var gen = new BatchGenerator(model, eos);
        // Request 0 is ended by the caller after its third token (as a stop string would); request 1 runs to its budget.
        int seen = 0;
        var ended = gen.Generate(requests, options, maxBatch: 2, onToken: (r, _) => r != 0 || ++seen < 3);
        Assert.Equal(3, ended[0].Ids.Count);
        Assert.Equal(FinishReason.StopString, ended[0].FinishReason);
        Assert.Equal(8, ended[1].Ids.Count);

        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            gen.Generate(requests, options, maxBatch: 1, onToken: (_, _) => { cts.Cancel(); return true; }, ct: cts.Token));
        Assert.Throws<ArgumentException>(() => gen.Generate(requests, options.Take(1).ToList(), maxBatch: 2));
        Assert.Throws<ArgumentException>(() => gen.Generate(requests, options, maxBatch: 0));
    }
}
