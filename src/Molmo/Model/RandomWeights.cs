using static TorchSharp.torch;

namespace Molmo.Model;

/// <summary>
/// Seeded random weights for demos, benchmarks and tests (no download needed), following the recipe of the golden tiny
/// checkpoints (spec §8.2): norm weights 1 + 0.1·N(0,1), biases 0.1·N, 2-D linear weights N(0,1)/√fan_in, embeddings,
/// positional/class embeddings and pad_embed 0.5·N. Such a model produces fluent-looking nonsense: it is only for exercising code.
/// </summary>
public static class RandomWeights
{
    public static void Initialize(nn.Module model, long seed)
    {
        using var _ = no_grad();
        using var gen = new TorchSharp.torch.Generator((ulong)seed, CPU);
        foreach (var (name, p) in model.named_parameters().OrderBy(x => x.name, StringComparer.Ordinal))
        {
            using var scope = NewDisposeScope();
            var (mean, std) = Recipe(name, p.shape);
            // Draw in float32 on the CPU (same numbers whatever the model's dtype/device), then copy in.
            var values = empty(p.shape, ScalarType.Float32, CPU).normal_(mean, std, gen);
            p.copy_(values);
        }
    }

    static (double Mean, double Std) Recipe(string name, long[] shape)
    {
        var leaf = name[(name.LastIndexOf('.') + 1)..];
        bool isNorm = name.Contains("norm.") || name.Contains("ln_f.") || name.Contains("pre_ln.");
        if (isNorm && leaf == "weight") return (1.0, 0.1);
        if (leaf == "bias") return (0.0, 0.1);
        if (leaf is "embedding" or "new_embedding" or "positional_embedding" or "class_embedding" or "pad_embed") return (0.0, 0.5);
        if (shape.Length == 2) return (0.0, 1.0 / Math.Sqrt(shape[1]));
        return (0.0, 0.1);
    }
}
