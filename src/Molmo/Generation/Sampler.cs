using static TorchSharp.torch;

namespace Molmo.Generation;

/// <summary>
/// Picks the next token from last-position logits [B, V]: argmax, or seeded temperature/top-k/top-p sampling.
/// <para>
/// Sampling scales the logits by 1/T, keeps the k largest (top-k; ties with the k-th kept) in libtorch ops, and takes their
/// softmax there; the rest runs here over the probabilities: the nucleus (top-p) without sorting the whole vocabulary, and
/// the draw, one uniform number per row from the request's seeded generator, by inverse CDF. libtorch's sort of 152,064
/// logits took 10.7 ms and its multinomial 2.8 ms a row on this project's machine, 15 ms a sampled step in all, or 240 ms
/// for 16 batched requests, each with its own sampler (docs/benchmarks.md, "Sampling").
/// </para>
/// </summary>
public sealed class Sampler : IDisposable
{
    readonly GenerationOptions _o;
    readonly TorchSharp.torch.Generator? _rng;

    public Sampler(GenerationOptions options)
    {
        options.Validate();
        _o = options;
        if (options.Temperature > 0) _rng = new TorchSharp.torch.Generator((ulong)options.Seed, CPU);
    }

    public bool IsGreedy => _o.Temperature == 0;

    /// <summary>logits [B, V] (float32) → ids [B] (int64, on the CPU).</summary>
    public unsafe Tensor Next(Tensor logits)
    {
        if (IsGreedy) return Greedy(logits);
        using var scope = NewDisposeScope();
        using var temperature = Runtime.Scalars.New(_o.Temperature);
        var scaled = logits.to(ScalarType.Float32).cpu().div(temperature);
        if (_o.TopK > 0 && _o.TopK < scaled.shape[^1])
        {
            var kth = scaled.topk(_o.TopK, -1).values.narrow(-1, _o.TopK - 1, 1);              // [B, 1]
            scaled = scaled.masked_fill(scaled.lt(kth), Runtime.Scalars.Of(float.NegativeInfinity));
        }
        var probs = scaled.softmax(-1).contiguous();
        int b = (int)probs.shape[0], v = (int)probs.shape[1];
        // One uniform number per row, in row order, from this request's generator.
        var draws = rand([b], ScalarType.Float64, generator: _rng);
        float* p = (float*)Checkpoints.NativeTensor.DataPointer(probs);
        double* u = (double*)Checkpoints.NativeTensor.DataPointer(draws);
        var ids = new long[b];
        for (int r = 0; r < b; r++) ids[r] = Draw(new ReadOnlySpan<float>(p + (long)r * v, v), u[r], _o.TopP);
        GC.KeepAlive(probs); GC.KeepAlive(draws);
        return tensor(ids, ScalarType.Int64).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A token drawn from one row's probabilities with uniform <paramref name="u"/> in [0, 1): the first token whose
    /// cumulative probability passes u × the mass of the tokens kept (all, or the nucleus for <paramref name="topP"/> &lt; 1),
    /// in index order (the nucleus: in its order, most likely first).
    /// </summary>
    internal static int Draw(ReadOnlySpan<float> probs, double u, double topP)
    {
        if (topP >= 1.0)
        {
            double total = 0;
            foreach (var x in probs) total += x;
            CheckMass(total);
            double target = u * total, acc = 0;
            int last = -1;
            for (int i = 0; i < probs.Length; i++)
            {
                if (!(probs[i] > 0)) continue;
                acc += probs[i];
                last = i;
                if (acc > target) return i;
            }
            return last;
        }
        var nucleus = Nucleus(probs, topP);
        double mass = 0;
        foreach (int i in nucleus) mass += probs[i];
        CheckMass(mass);
        double goal = u * mass, sum = 0;
        foreach (int i in nucleus)
        {
            sum += probs[i];
            if (sum > goal) return i;
        }
        return nucleus[^1];
    }

    static void CheckMass(double mass)
    {
        if (!(mass > 0) || double.IsInfinity(mass))
            throw new InvalidOperationException($"cannot sample: the probabilities sum to {mass} (the logits hold NaN or infinity)");
    }

    /// <summary>
    /// The nucleus of a row (top-p): the most likely tokens in order, most likely first (ties: lower index first), up to and
    /// including the one whose cumulative probability reaches <paramref name="topP"/>; a token is dropped when the mass
    /// before it already reaches top-p, so the most likely token always stays. Only tokens above a threshold are sorted: if
    /// they hold at least top-p between them, the nucleus is among them (every token outside is less likely than each of
    /// them); otherwise the threshold drops and they are gathered again.
    /// </summary>
    internal static int[] Nucleus(ReadOnlySpan<float> probs, double topP)
    {
        var candidates = new List<int>();
        for (float theta = 1e-4f; ; theta = theta > 1e-30f ? theta / 256 : 0)
        {
            candidates.Clear();
            double mass = 0;
            for (int i = 0; i < probs.Length; i++)
                if (probs[i] >= theta && probs[i] > 0) { candidates.Add(i); mass += probs[i]; }
            if (mass >= topP || theta == 0) break;
        }
        // Descending probability, then ascending index.
        var sorted = new (float P, int Index)[candidates.Count];
        for (int j = 0; j < sorted.Length; j++) sorted[j] = (probs[candidates[j]], candidates[j]);
        Array.Sort(sorted, static (a, c) => c.P.CompareTo(a.P) is var byP && byP != 0 ? byP : a.Index.CompareTo(c.Index));
        int kept = 0;
        double before = 0;
        while (kept < sorted.Length && (kept == 0 || before < topP))
            before += sorted[kept++].P;
        var nucleus = new int[kept];
        for (int j = 0; j < kept; j++) nucleus[j] = sorted[j].Index;
        return nucleus;
    }

    /// <summary>Greedy choice for every row of logits [B, V]: ids [B] (int64, on the CPU; one copy from the device for all rows).</summary>
    public static Tensor Greedy(Tensor logits)
    {
        using var scope = NewDisposeScope();
        return logits.argmax(-1).cpu().MoveToOuterDisposeScope();
    }

    public void Dispose() => _rng?.Dispose();
}
