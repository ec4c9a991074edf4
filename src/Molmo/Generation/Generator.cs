using Molmo.Model;
using static TorchSharp.torch;

namespace Molmo.Generation;

/// <summary>One generated token and the last-position logits it was chosen from (float32 [V], only when asked for).</summary>
public readonly record struct GeneratedToken(int Id, int Step, Tensor? Logits);

/// <summary>
/// Autoregressive decoding with a preallocated KV cache (spec §6): a prefill pass over the whole prompt (images only here),
/// then one token per step at the next position. Stops after EOS (which is yielded, like the reference keeps it), after
/// the token budget, or on cancellation. Every step runs in its own dispose scope.
/// </summary>
public sealed class Generator(MolmoForCausalLM model, int eosId)
{
    public MolmoForCausalLM Model { get; } = model;
    public int EosId { get; } = eosId;

    /// <summary>Generates ids for a single sequence (<c>input_ids</c> [1, S]).</summary>
    public IEnumerable<GeneratedToken> Generate(ModelInputs inputs, GenerationOptions options, bool keepLogits = false,
                                               CancellationToken ct = default)
    {
        options.Validate();
        long promptLen = inputs.InputIds.shape[^1];
        if (inputs.InputIds.dim() != 2 || inputs.InputIds.shape[0] != 1)
            throw new ArgumentException("Generate takes one sequence: input_ids [1, S]");
        int capacity = (int)Math.Min(promptLen + options.MaxNewTokens, Model.Config.MaxPositionEmbeddings);
        if (promptLen >= Model.Config.MaxPositionEmbeddings)
            throw new ArgumentException($"the prompt has {promptLen} tokens; the model handles at most {Model.Config.MaxPositionEmbeddings} positions");

        using var sampler = new Sampler(options);
        using var cache = Model.NewCache(1, capacity);
        using var noGrad = no_grad();
        ModelInputs stepInputs = inputs;
        for (int step = 0; step < options.MaxNewTokens && cache.Length < capacity; step++)
        {
            ct.ThrowIfCancellationRequested();
            int id;
            Tensor? kept = null;
            using (var scope = NewDisposeScope())
            {
                using var output = Model.Forward(stepInputs, cache, new ForwardOptions { AllLogits = false });
                var logits = output.Logits.view(1, -1);
                id = (int)sampler.Next(logits).item<long>();
                if (keepLogits) kept = logits[0].cpu().MoveToOuterDisposeScope();
            }
            if (!ReferenceEquals(stepInputs, inputs)) stepInputs.InputIds.Dispose();
            yield return new GeneratedToken(id, step, kept);
            if (options.StopOnEos && id == EosId) yield break;
            stepInputs = new ModelInputs(tensor(new long[] { id }, [1, 1]));
        }
        if (!ReferenceEquals(stepInputs, inputs)) stepInputs.InputIds.Dispose();
    }
}
