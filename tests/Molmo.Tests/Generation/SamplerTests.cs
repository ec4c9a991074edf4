using Molmo.Generation;
using static TorchSharp.torch;

namespace Molmo.Tests.Generation;

/// <summary>
/// Sampling (<see cref="Sampler"/>): the nucleus is what sorting the whole vocabulary gives, the draws follow the kept
/// probabilities, a seed fixes the tokens, and logits that cannot be sampled are named.
/// </summary>
public class SamplerTests
{
    /// <summary>The kept set by the full sort, as libtorch ops: a token is dropped when the mass before it reaches top-p.</summary>
    static HashSet<long> NucleusBySort(Tensor probs, double topP)
    {
        using var scope = NewDisposeScope();
        var (sorted, order) = probs.sort(-1, descending: true);
        var before = sorted.to(ScalarType.Float64).cumsum(-1) - sorted.to(ScalarType.Float64);
        var keep = before.lt(Scalars.Of(topP));
        return order.masked_select(keep).data<long>().ToHashSet();
    }

    [Theory]
    [InlineData(5000, 1.0)]
    [InlineData(152064, 0.7)]
    [InlineData(152064, 3.0)]     // a flat distribution: every probability below the first threshold
    [InlineData(152064, 30.0)]
    public void TheNucleusIsWhatSortingEverythingGives(int vocab, double temperature)
    {
        using var scope = NewDisposeScope();
        var gen = new TorchSharp.torch.Generator(11);
        var probs = randn([vocab], generator: gen).mul(Scalars.Of(4.0)).div(Scalars.Of(temperature)).softmax(-1);
        var p = probs.data<float>().ToArray();
        foreach (double topP in new[] { 1e-6, 0.1, 0.5, 0.9, 0.99, 0.999999 })
        {
            var nucleus = Sampler.Nucleus(p, topP);
            var expected = NucleusBySort(probs, topP);
            Assert.Equal(expected.Count, nucleus.Length);
            Assert.True(nucleus.All(i => expected.Contains(i)), $"top-p {topP}: another set than the full sort's");
            for (int j = 1; j < nucleus.Length; j++) Assert.True(p[nucleus[j - 1]] >= p[nucleus[j]], "most likely first");
        }
    }

    [Fact]
    public void DrawsFollowTheKeptProbabilities()
    {
        float[] p = [0.5f, 0.3f, 0.15f, 0.05f];
        var random = new Random(5);
        int n = 40000;
        int[] Counts(double topP)
        {
            var counts = new int[p.Length];
            for (int i = 0; i < n; i++) counts[Sampler.Draw(p, random.NextDouble(), topP)]++;
            return counts;
        }
        var all = Counts(1.0);
        for (int t = 0; t < p.Length; t++) Assert.InRange(all[t] / (double)n, p[t] - 0.012, p[t] + 0.012);
        // top-p 0.7: the mass before the third token is 0.8, so the nucleus is the first two, renormalised.
        var top = Counts(0.7);
        Assert.Equal(0, top[2] + top[3]);
        Assert.InRange(top[0] / (double)n, 0.625 - 0.012, 0.625 + 0.012);
        // The extremes of u: the first token, and the last one kept.
        Assert.Equal(0, Sampler.Draw(p, 0.0, 1.0));
        Assert.Equal(3, Sampler.Draw(p, 0.9999999, 1.0));
        Assert.Equal(1, Sampler.Draw(p, 0.9999999, 0.7));
        Assert.Equal(1, Sampler.Draw([0f, 1f], 0.0, 1.0));   // a zero probability is never drawn
    }

    [Fact]
    public void TheSamplerKeepsTopKAndTheSeedFixesTheTokens()
    {
        using var scope = NewDisposeScope();
        var logits = randn([3, 1000], generator: new TorchSharp.torch.Generator(2)).mul(Scalars.Of(2.0));
        long[] Sample(GenerationOptions o, int steps)
        {
            using var s = new Sampler(o);
            return Enumerable.Range(0, steps).SelectMany(_ => s.Next(logits).data<long>().ToArray()).ToArray();
        }
        var options = new GenerationOptions { Temperature = 1.0, TopK = 5, Seed = 9 };
        var a = Sample(options, 50);
        Assert.Equal(a, Sample(options, 50));
        Assert.NotEqual(a, Sample(options with { Seed = 10 }, 50));
        // Only each row's five largest logits are ever drawn, and more than one of them is.
        var top5 = logits.topk(5, -1).indexes;
        for (int r = 0; r < 3; r++)
        {
            var allowed = top5[r].data<long>().ToHashSet();
            var drawn = a.Where((_, i) => i % 3 == r).ToHashSet();
            Assert.True(drawn.IsSubsetOf(allowed), $"row {r} drew outside its top 5");
            Assert.True(drawn.Count > 1, $"row {r} always drew the same token");
        }
        // top-p with a low temperature: the nucleus is the most likely token alone, so it is the greedy choice.
        var greedy = Sampler.Greedy(logits).data<long>().ToArray();
        Assert.Equal(greedy, Sample(new GenerationOptions { Temperature = 0.05, TopP = 0.5, Seed = 1 }, 1));
    }

    [Fact]
    public void LogitsThatCannotBeSampledAreNamed()
    {
        using var scope = NewDisposeScope();
        var nan = full([1, 10], Scalars.Of(float.NaN));
        using var s = new Sampler(new GenerationOptions { Temperature = 1.0 });
        Assert.Contains("cannot sample", Assert.Throws<InvalidOperationException>(() => s.Next(nan)).Message);
        using var p = new Sampler(new GenerationOptions { Temperature = 1.0, TopP = 0.9 });
        Assert.Contains("cannot sample", Assert.Throws<InvalidOperationException>(() => p.Next(nan)).Message);
    }
}
