using Molmo.Checkpoints;
using Molmo.Generation;
using Molmo.Model;
using Molmo.Tests.Model;
using Molmo.TestSupport;
using static TorchSharp.torch;

namespace Molmo.Tests.Generation;

/// <summary>
/// Prefix caching: a prompt that shares its image and leading tokens with a stored one computes only the rest, and gets the
/// logits (within float32 rounding) and the greedy tokens of a whole prefill; what may not be reused (another image, too few
/// shared tokens, the last token) is not; entries that a longer prompt extends are replaced, and the budget evicts the least
/// recently used.
/// </summary>
public class PrefixCacheTests
{
    static readonly ForwardOptions LastLogits = new() { AllLogits = false };

    /// <summary>A golden tiny checkpoint in float32 with a prefix cache that stores prompts of 4 positions or more, inside one
    /// dispose scope with gradients off.</summary>
    sealed class Tiny : IDisposable
    {
        public MolmoForCausalLM Model { get; }
        public PrefixCache Prefixes { get; }
        readonly IDisposable _scope, _noGrad;

        public Tiny(string variant)
        {
            Model = ModelLoader.Load(Golden.TinyDir(variant), Golden.Float32);
            _scope = NewDisposeScope();
            _noGrad = no_grad();
            Prefixes = new PrefixCache(Model, minTokens: 4);
        }

        public void Dispose()
        {
            Prefixes.Dispose();
            _noGrad.Dispose();
            _scope.Dispose();
            Model.Dispose();
        }
    }

    /// <summary>The last position's logits of a whole prefill of <paramref name="inputs"/> into a fresh cache, then of one
    /// decode step feeding <paramref name="next"/>.</summary>
    static (Tensor Prefill, Tensor Step) Fresh(MolmoForCausalLM model, ModelInputs inputs, long next)
    {
        using var cache = model.NewCache(1, (int)inputs.InputIds.shape[1] + 1);
        using var a = model.Forward(inputs, cache, LastLogits);
        using var b = model.Forward(new ModelInputs(tensor(new[] { next }, [1, 1])), cache, LastLogits);
        return (a.Logits.view(-1).clone(), b.Logits.view(-1).clone());
    }

    /// <summary>The same through the prefix cache: the prefill's logits, the positions it reused, and the next step's logits.</summary>
    static (Tensor Prefill, int Reused, Tensor Step) Cached(MolmoForCausalLM model, PrefixCache prefixes, ModelInputs inputs, long next)
    {
        using var cache = model.NewCache(1, (int)inputs.InputIds.shape[1] + 1);
        using var a = prefixes.Prefill(inputs, cache, out int reused);
        Assert.Equal(inputs.InputIds.shape[1], cache.Length);
        using var b = model.Forward(new ModelInputs(tensor(new[] { next }, [1, 1])), cache, LastLogits);
        return (a.Logits.view(-1).clone(), reused, b.Logits.view(-1).clone());
    }

    /// <summary>A prompt through the prefix cache reuses <paramref name="reuse"/> positions and gets the logits of a whole
    /// prefill, and of the decode step after it, within float32 rounding.</summary>
    static void AssertReuses(MolmoForCausalLM model, PrefixCache prefixes, ModelInputs inputs, long next, long reuse)
    {
        var (freshPrefill, freshStep) = Fresh(model, inputs, next);
        var (prefill, reused, step) = Cached(model, prefixes, inputs, next);
        Assert.Equal(reuse, reused);
        Close(freshPrefill, prefill, 1e-4);
        Close(freshStep, step, 1e-4);
    }

    /// <summary>The bytes one cached position takes in <paramref name="model"/>'s caches.</summary>
    static long PerPosition(MolmoForCausalLM model)
    {
        using var one = model.NewCache(1, 1);
        return one.BytesPerPosition;
    }

    /// <summary>The image's feature positions end here: every later position holds a text token.</summary>
    static int ImageEnd(ModelInputs inputs) => (int)inputs.ImageInputIdx!.max().item<long>() + 1;

    /// <summary>The same image, the text after it changed from position <paramref name="from"/> on.</summary>
    static ModelInputs OtherQuestion(ModelInputs inputs, int from)
    {
        var ids = inputs.InputIds.clone();
        long s = ids.shape[1];
        using (var tail = ids.narrow(1, from, s - from)) tail.copy_(tail.add(Scalars.Of(7), Scalars.One).remainder(Scalars.Of(500)));
        return inputs with { InputIds = ids };
    }

    static void Close(Tensor expected, Tensor actual, double tol)
    {
        double diff = (expected - actual).abs().max().item<float>();
        Assert.True(diff <= tol, $"logits differ by {diff} (bound {tol})");
        Assert.Equal(expected.argmax().item<long>(), actual.argmax().item<long>());
    }

    [Theory]
    [InlineData("tiny_d_style")]
    [InlineData("tiny_o_style")]
    public void AnotherQuestionAboutTheSameImageReusesTheImagePositions(string variant)
    {
        using var tiny = new Tiny(variant);
        var (model, prefixes) = (tiny.Model, tiny.Prefixes);
        var first = TinyInputs.Load(variant, "img_100x100");
        int end = ImageEnd(first);
        long s = first.InputIds.shape[1];
        Assert.True(end + 2 <= s, "the golden prompt has text after its image");
        var second = OtherQuestion(first, end + 1);

        var (_, reused0, _) = Cached(model, prefixes, first, 5);
        Assert.Equal(0, reused0);
        Assert.Equal(1, prefixes.Count);
        Assert.Equal(PerPosition(model) * s, prefixes.Bytes);

        AssertReuses(model, prefixes, second, 5, end + 1);   // everything up to the first changed token
        Assert.Equal((1, 1, end + 1), (prefixes.Hits, prefixes.Misses, prefixes.ReusedTokens));
        Assert.Equal(2, prefixes.Count);   // neither prompt extends the other
    }

    [Fact]
    public void TheSamePromptAgainReusesAllButItsLastToken()
    {
        using var tiny = new Tiny("tiny_d_style");
        var (model, prefixes) = (tiny.Model, tiny.Prefixes);
        var inputs = TinyInputs.Load("tiny_d_style", "img_100x100");
        long s = inputs.InputIds.shape[1];
        Cached(model, prefixes, inputs, 9);
        AssertReuses(model, prefixes, inputs, 9, s - 1);
        Assert.Equal(1, prefixes.Count);   // already covered: not stored twice
    }

    [Fact]
    public void AnotherImageIsNotReused()
    {
        using var tiny = new Tiny("tiny_d_style");
        var (model, prefixes) = (tiny.Model, tiny.Prefixes);
        var inputs = TinyInputs.Load("tiny_d_style", "img_100x100");
        Cached(model, prefixes, inputs, 1);
        // The same ids over other pixels, and over the same pixels with another patch mask.
        var otherPixels = inputs with { Images = inputs.Images!.add(Scalars.Of(0.01), Scalars.One) };
        var otherMask = inputs with { ImageMasks = inputs.ImageMasks!.mul(Scalars.Of(0.5)) };
        foreach (var other in new[] { otherPixels, otherMask })
        {
            var (freshPrefill, _) = Fresh(model, other, 1);
            var (prefill, reused, _) = Cached(model, prefixes, other, 1);
            Assert.Equal(0, reused);
            Close(freshPrefill, prefill, 0);   // computed whole, as without the cache
        }
        Assert.Equal((0, 3), (prefixes.Hits, prefixes.Misses));
        Assert.Equal(3, prefixes.Count);
    }

    [Fact]
    public void APromptThatExtendsAStoredOneReplacesIt()
    {
        using var tiny = new Tiny("tiny_o_style");
        var (model, prefixes) = (tiny.Model, tiny.Prefixes);
        var turn1 = TinyInputs.Load("tiny_o_style", "text_only");
        long s = turn1.InputIds.shape[1];
        // The next turn: the first turn's prompt, then more text (as a conversation grows).
        var turn2 = new ModelInputs(cat([turn1.InputIds, Scalars.Arange(11, 31, ScalarType.Int64).view(1, -1)], 1));
        Cached(model, prefixes, turn1, 3);
        AssertReuses(model, prefixes, turn2, 3, s);
        Assert.Equal(1, prefixes.Count);
        Assert.Equal(PerPosition(model) * (s + 20), prefixes.Bytes);
        // The first turn again is covered by the longer entry.
        var (_, again, _) = Cached(model, prefixes, turn1, 3);
        Assert.Equal(s - 1, again);
    }

    [Fact]
    public void TheBudgetEvictsTheLeastRecentlyUsed()
    {
        using var tiny = new Tiny("tiny_d_style");
        var model = tiny.Model;
        long perPosition = PerPosition(model);
        // Room for two prompts of 40 positions, not three.
        using var prefixes = new PrefixCache(model, maxBytes: perPosition * 100, minTokens: 4);
        ModelInputs Prompt(long first) => new(Scalars.Arange(first, first + 40, ScalarType.Int64).view(1, -1));
        var (a, b, c) = (Prompt(100), Prompt(200), Prompt(300));
        Cached(model, prefixes, a, 1);
        Cached(model, prefixes, b, 1);
        Assert.Equal(39, Cached(model, prefixes, a, 1).Reused);   // a is now the most recently used
        Cached(model, prefixes, c, 1);                             // evicts b
        Assert.Equal(2, prefixes.Count);
        Assert.True(prefixes.Bytes <= prefixes.MaxBytes);
        Assert.Equal(39, Cached(model, prefixes, a, 1).Reused);
        Assert.Equal(39, Cached(model, prefixes, c, 1).Reused);
        Assert.Equal(0, Cached(model, prefixes, b, 1).Reused);

        // A prompt larger than the whole budget is prefilled but not stored; so is one shorter than MinTokens.
        using var small = new PrefixCache(model, maxBytes: perPosition * 30, minTokens: 4);
        Cached(model, small, a, 1);
        Cached(model, small, new ModelInputs(Scalars.Arange(5, 8, ScalarType.Int64).view(1, -1)), 1);
        Assert.Equal(0, small.Count);
        Assert.Equal(0, small.Bytes);
    }

    [Fact]
    public void GreedyAnswersThroughTheCacheEqualTheReference()
    {
        var dir = Golden.TinyDir("tiny_d_style");
        var eos = MolmoConfig.Load(dir).SpecialTokens!.Eos;
        using var model = ModelLoader.Load(dir, Golden.Float32);
        using var scope = NewDisposeScope();
        using var prefixes = new PrefixCache(model, minTokens: 4);
        var options = new GenerationOptions { MaxNewTokens = 16 };
        var cases = new[] { "img_100x100", "text_only", "img_480x640" };
        var requests = cases.Select(c => TinyInputs.Load("tiny_d_style", c)).ToList();
        // Twice each, one at a time: the second time from the stored prompt; read-back steps, then queued steps (a GPU's) and
        // fixed-shape steps (what a CUDA graph records).
        foreach (var (pipelined, steps) in new[] { (false, DecodeSteps.Eager), (true, DecodeSteps.Eager), (true, DecodeSteps.FixedShape) })
        {
            var single = new Molmo.Generation.Generator(model, eos) { Prefixes = prefixes, Pipelined = pipelined, Steps = steps };
            for (int i = 0; i < cases.Length; i++)
            {
                var golden = Golden.GreedyIds(Path.Combine(dir, $"{cases[i]}.greedy.json")).Select(x => (int)x);
                Assert.Equal(golden, single.Generate(requests[i], options).Select(t => t.Id));
                Assert.Equal(pipelined ? requests[i].InputIds.shape[1] - 1 : 0, single.ReusedPromptTokens);
                Assert.Equal(golden, single.Generate(requests[i], options).Select(t => t.Id));
                Assert.Equal(requests[i].InputIds.shape[1] - 1, single.ReusedPromptTokens);
            }
        }
        // Batched, with another question about the first image beside it: rows take stored prompts too.
        var other = OtherQuestion(requests[0], ImageEnd(requests[0]) + 1);
        var batchRequests = requests.Append(other).ToList();
        var plain = new BatchGenerator(model, eos).Generate(batchRequests, options);
        var batcher = new BatchGenerator(model, eos) { Prefixes = prefixes };
        var batch = batcher.Generate(batchRequests, options);
        for (int i = 0; i < batchRequests.Count; i++) Assert.Equal(plain[i].Ids, batch[i].Ids);
        Assert.All(batcher.ReusedPromptTokens, r => Assert.True(r > 0));
        Assert.Equal(ImageEnd(requests[0]) + 1, batcher.ReusedPromptTokens[3]);
    }

    [Fact]
    public void ACacheOfAnotherModelIsRefused()
    {
        using var a = ModelLoader.Load(Golden.TinyDir("tiny_d_style"), Golden.Float32);
        using var b = ModelLoader.Load(Golden.TinyDir("tiny_d_style"), Golden.Float32);
        using var prefixes = new PrefixCache(a);
        var inputs = TinyInputs.Load("tiny_d_style", "text_only");
        var e = Assert.Throws<InvalidOperationException>(() =>
            new Molmo.Generation.Generator(b, 0) { Prefixes = prefixes }.Generate(inputs, new GenerationOptions { MaxNewTokens = 2 }).ToList());
        Assert.Contains("another model", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PrefixCache(a, maxBytes: 0));
    }

    [Fact]
    public async Task PipelineAnswersAboutOneImageReuseItAndEqualAnswersWithoutTheCache()
    {
        using var pipeline = MolmoPipeline.Load(DemoModel.Create(TestPaths.NewTempDir("molmo-demo-prefix")));
        // A second pipeline over the same model without a prefix cache (not disposed: it would dispose the shared model).
        var plain = new MolmoPipeline(pipeline.Model, pipeline.Tokenizer, prefixCacheBytes: 0);
        Assert.NotNull(pipeline.Prefixes);
        Assert.Null(plain.Prefixes);
        var image = Molmo.Imaging.ImageDecoder.Decode(DemoModel.DrawTestImage(320, 240));
        var options = new GenerationOptions { MaxNewTokens = 8, StopOnEos = false };
        var questions = new[] { "Describe this image.", "Point to the circle.", "How many shapes are there?" };
        var answers = new List<MolmoAnswer>();
        foreach (var q in questions) answers.Add(await pipeline.AskAsync(new AskRequest { Image = image, Prompt = q, Generation = options }));
        Assert.Equal(0, answers[0].Stats.CachedPromptTokens);
        for (int i = 1; i < questions.Length; i++)
        {
            // Everything before the question's own words comes from the cache: the image and the turn's opening.
            Assert.True(answers[i].Stats.CachedPromptTokens > answers[i].Stats.PromptTokens - 16,
                $"{answers[i].Stats.CachedPromptTokens} of {answers[i].Stats.PromptTokens} prompt tokens reused");
            var without = await plain.AskAsync(new AskRequest { Image = image, Prompt = questions[i], Generation = options });
            Assert.Equal(without.Text, answers[i].Text);
            Assert.Equal(0, without.Stats.CachedPromptTokens);
        }
        // Batched requests about the image take it from the cache as well: all of it when stored before, and from an empty
        // cache the first request's prompt serves the rows after it.
        var asks = questions.Select(q => new AskRequest { Image = image, Prompt = q, Generation = options }).ToList();
        var batch = await pipeline.AskBatchAsync(asks);
        for (int i = 0; i < questions.Length; i++)
        {
            Assert.Equal(answers[i].Text, batch[i].Text);
            Assert.Equal(batch[i].Stats.PromptTokens - 1, batch[i].Stats.CachedPromptTokens);
        }
        pipeline.Prefixes!.Clear();
        Assert.Equal((0, 0L), (pipeline.Prefixes.Count, pipeline.Prefixes.Bytes));
        var fresh = await pipeline.AskBatchAsync(asks, maxBatch: 3);
        Assert.Equal(0, fresh[0].Stats.CachedPromptTokens);
        for (int i = 0; i < questions.Length; i++)
        {
            Assert.Equal(answers[i].Text, fresh[i].Text);
            if (i > 0) Assert.Equal(answers[i].Stats.CachedPromptTokens, fresh[i].Stats.CachedPromptTokens);
        }

        // The next turn of a conversation continues from the turn before: its prompt up to the answer is reused.
        var turn1 = new AskRequest { Image = image, Messages = [questions[0]], Generation = options };
        var reply = await pipeline.AskAsync(turn1);
        var turn2 = turn1 with { Messages = [questions[0], reply.Text, questions[2]] };
        var next = await pipeline.AskAsync(turn2);
        Assert.True(next.Stats.CachedPromptTokens >= reply.Stats.PromptTokens - 1,
            $"{next.Stats.CachedPromptTokens} reused of turn 2's {next.Stats.PromptTokens}; turn 1 had {reply.Stats.PromptTokens}");
        Assert.Equal((await plain.AskAsync(turn2)).Text, next.Text);
    }
}
