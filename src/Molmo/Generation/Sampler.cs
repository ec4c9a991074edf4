using static TorchSharp.torch;

namespace Molmo.Generation;

/// <summary>Picks the next token from last-position logits [B, V]: argmax, or seeded temperature/top-k/top-p sampling.</summary>
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
    public Tensor Next(Tensor logits)
    {
        if (IsGreedy) return Greedy(logits);
        using var scope = NewDisposeScope();
        using var temperature = Runtime.Scalars.New(_o.Temperature);
        using var topP = Runtime.Scalars.New(_o.TopP);
        var scaled = logits.to(ScalarType.Float32).cpu().div(temperature);
        if (_o.TopK > 0 && _o.TopK < scaled.shape[^1])
        {
            var kth = scaled.topk(_o.TopK, -1).values.narrow(-1, _o.TopK - 1, 1);              // [B, 1]
            scaled = scaled.masked_fill(scaled.lt(kth), Runtime.Scalars.Of(float.NegativeInfinity));
        }
        if (_o.TopP < 1.0)
        {
            var (sorted, order) = scaled.sort(-1, descending: true);
            var cum = sorted.softmax(-1).cumsum(-1);
            // Drop a token when the mass before it already reaches top-p (the most likely token always stays).
            var drop = (cum - sorted.softmax(-1)).ge(topP);
            var dropOriginal = zeros_like(drop).scatter(-1, order, drop);
            scaled = scaled.masked_fill(dropOriginal, Runtime.Scalars.Of(float.NegativeInfinity));
        }
        var probs = scaled.softmax(-1);
        return multinomial(probs, 1, false, _rng).view(-1).MoveToOuterDisposeScope();
    }

    /// <summary>Greedy choice for every row of logits [B, V]: ids [B] (int64, on the CPU; one copy from the device for all rows).</summary>
    public static Tensor Greedy(Tensor logits)
    {
        using var scope = NewDisposeScope();
        return logits.argmax(-1).cpu().MoveToOuterDisposeScope();
    }

    public void Dispose() => _rng?.Dispose();
}
