using System.Globalization;
using Molmo.Generation;
using static TorchSharp.torch;

namespace Molmo.Bench;

/// <summary>
/// Sampling a token from 7B-D's 152,064 logits (<see cref="Sampler"/>): the engine's route (libtorch's softmax, then the
/// nucleus and the draw in C#) against the route it replaced, kept here as the baseline (libtorch's sort of the whole row for
/// top-p, and its multinomial), in ms per step for one request and for 16 batched requests, each with its own sampler as
/// the batch generator runs them. Usage: <c>sample [--reps 20]</c>.
/// </summary>
public static class SampleBench
{
    public static int Run(string[] args)
    {
        var a = Args.Parse(args);
        int reps = int.Parse(a.Get("--reps", "20")!, CultureInfo.InvariantCulture);
        const int vocab = 152064;
        Console.WriteLine($"CPU: {MachineInfo.Cpu()}");
        Console.WriteLine();
        Console.WriteLine($"| settings | 1 request: engine | 1 request: baseline | 16 requests: engine | 16 requests: baseline |   (ms a step, median of {reps}; logits [1, {vocab}] each)");
        Console.WriteLine("|---|---|---|---|---|");
        var settings = new (string Name, GenerationOptions Options)[]
        {
            ("temperature 0.7", new GenerationOptions { Temperature = 0.7 }),
            ("temperature 0.7, top-p 0.9", new GenerationOptions { Temperature = 0.7, TopP = 0.9 }),
            ("temperature 0.7, top-k 50", new GenerationOptions { Temperature = 0.7, TopK = 50 }),
            ("temperature 1.0, top-k 50, top-p 0.95", new GenerationOptions { Temperature = 1.0, TopK = 50, TopP = 0.95 }),
        };
        using var logits = randn([16, vocab], generator: new TorchSharp.torch.Generator(3)).mul(Molmo.Runtime.Scalars.Of(3.0));
        var rows = Enumerable.Range(0, 16).Select(r => logits.narrow(0, r, 1)).ToArray();
        foreach (var (name, options) in settings)
        {
            double Time(int requests, bool engine)
            {
                var samplers = Enumerable.Range(0, requests).Select(r => new Sampler(options with { Seed = r })).ToArray();
                var rngs = Enumerable.Range(0, requests).Select(r => new TorchSharp.torch.Generator((ulong)r, CPU)).ToArray();
                try
                {
                    return GemvBench.Median(() =>
                    {
                        for (int r = 0; r < requests; r++)
                            (engine ? samplers[r].Next(rows[r]) : Baseline(rows[r], options, rngs[r])).Dispose();
                    }, reps) * 1e3;
                }
                finally
                {
                    foreach (var s in samplers) s.Dispose();
                    foreach (var g in rngs) g.Dispose();
                }
            }
            Console.WriteLine($"| {name} | {Time(1, true):F2} | {Time(1, false):F2} | {Time(16, true):F2} | {Time(16, false):F2} |");
        }
        foreach (var r in rows) r.Dispose();
        return 0;
    }

    /// <summary>The sampler before (2026-11-27): top-k and top-p as libtorch ops, the top-p over a sort of the whole row,
    /// then libtorch's multinomial.</summary>
    static Tensor Baseline(Tensor logits, GenerationOptions o, TorchSharp.torch.Generator rng)
    {
        using var scope = NewDisposeScope();
        using var temperature = Molmo.Runtime.Scalars.New(o.Temperature);
        using var topP = Molmo.Runtime.Scalars.New(o.TopP);
        var scaled = logits.to(ScalarType.Float32).cpu().div(temperature);
        if (o.TopK > 0 && o.TopK < scaled.shape[^1])
        {
            var kth = scaled.topk(o.TopK, -1).values.narrow(-1, o.TopK - 1, 1);
            scaled = scaled.masked_fill(scaled.lt(kth), Molmo.Runtime.Scalars.Of(float.NegativeInfinity));
        }
        if (o.TopP < 1.0)
        {
            var (sorted, order) = scaled.sort(-1, descending: true);
            var cum = sorted.softmax(-1).cumsum(-1);
            var drop = (cum - sorted.softmax(-1)).ge(topP);
            var dropOriginal = zeros_like(drop).scatter(-1, order, drop);
            scaled = scaled.masked_fill(dropOriginal, Molmo.Runtime.Scalars.Of(float.NegativeInfinity));
        }
        return multinomial(scaled.softmax(-1), 1, false, rng).view(-1).MoveToOuterDisposeScope();
    }
}
