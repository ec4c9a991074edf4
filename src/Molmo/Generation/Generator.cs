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

    /// <summary>
    /// Whether greedy decoding queues step t+1 on the device before reading step t's token (null, the default: on a GPU).
    /// The next step's input is the argmax still on the device, and the token comes back through pinned memory, so the host
    /// issues the next step while the GPU runs this one, instead of waiting for it after every token (a GPU step is bound by
    /// issuing its ops). The tokens are the same; the cost is one step computed after the last token and thrown away. Sampling
    /// (a seeded generator on the host) and kept logits read every step back at once.
    /// </summary>
    public bool? Pipelined { get; set; }

    /// <summary>
    /// How greedy steps after the first token are issued (default <see cref="DecodeSteps.Auto"/>: CUDA graphs on a GPU,
    /// eager steps elsewhere). With <see cref="DecodeSteps.CudaGraph"/> on a GPU, each step is one graph launch; where graphs
    /// cannot be used the reason is printed once and decoding goes on eagerly. Applies where steps are queued ahead
    /// (<see cref="Pipelined"/>).
    /// </summary>
    public DecodeSteps Steps { get; set; } = DecodeSteps.Auto;

    /// <summary>How the last <see cref="Generate"/> issued its decode steps: <see cref="DecodeSteps.CudaGraph"/> where each
    /// was a graph replay, <see cref="DecodeSteps.FixedShape"/>, or <see cref="DecodeSteps.Eager"/> (also where graphs were
    /// asked for and could not be had). Set once its steps begin.</summary>
    public DecodeSteps StepsUsed { get; private set; } = DecodeSteps.Eager;

    /// <summary>
    /// Where the prompt's prefill may start from the stored keys and values of an earlier prompt with the same beginning (same
    /// image), and where this prompt is stored in turn; null: every prompt is prefilled whole. Must belong to <see cref="Model"/>.
    /// </summary>
    public PrefixCache? Prefixes { get; set; }

    /// <summary>The prompt positions the last <see cref="Generate"/> took from <see cref="Prefixes"/> instead of computing.</summary>
    public int ReusedPromptTokens { get; private set; }

    /// <summary>One step's forward pass (last-position logits): the prompt's prefill into the empty cache (through
    /// <see cref="Prefixes"/> when set) when <paramref name="stepInputs"/> is the prompt, else a decode step.</summary>
    ForwardOutput Step(ModelInputs stepInputs, ModelInputs prompt, KvCache cache)
    {
        if (!ReferenceEquals(stepInputs, prompt)) return Model.Forward(stepInputs, cache, new ForwardOptions { AllLogits = false });
        var output = PrefixCache.Prefill(Prefixes, Model, prompt, cache, out int reused);
        ReusedPromptTokens = reused;
        return output;
    }

    /// <summary>Generates ids for a single sequence (<c>input_ids</c> [1, S]).</summary>
    public IEnumerable<GeneratedToken> Generate(ModelInputs inputs, GenerationOptions options, bool keepLogits = false,
                                               CancellationToken ct = default)
    {
        options.Validate();
        ReusedPromptTokens = 0;
        StepsUsed = DecodeSteps.Eager;
        long promptLen = inputs.InputIds.shape[^1];
        if (inputs.InputIds.dim() != 2 || inputs.InputIds.shape[0] != 1)
            throw new ArgumentException("Generate takes one sequence: input_ids [1, S]");
        int capacity = (int)Math.Min(promptLen + options.MaxNewTokens, Model.Config.MaxPositionEmbeddings);
        if (promptLen >= Model.Config.MaxPositionEmbeddings)
            throw new ArgumentException($"the prompt has {promptLen} tokens; the model handles at most {Model.Config.MaxPositionEmbeddings} positions");

        using var sampler = new Sampler(options);
        // Gradients are switched off per step, never across a yield: grad mode is per thread, and two generations enumerated
        // in turn on one thread would otherwise restore each other's saved mode in the wrong order and leave it off.
        bool pipelined = sampler.IsGreedy && !keepLogits && (Pipelined ?? Model.Placement.Device.type != TorchSharp.DeviceType.CPU);
        int room = Math.Max(capacity, Model.PrefillLength(promptLen));   // and room for a padded prefill
        var steps = Steps.On(Model.Placement.Device);
        if (pipelined && steps != DecodeSteps.Eager)
        {
            // Fixed-shape steps run in a context kept from an earlier request where one fits (its graph is replayed, not
            // recorded again), and go back to the model's DecodeContexts afterwards.
            var context = Model.DecodeContexts.Rent(Model, steps, 1, room);
            try
            {
                foreach (var t in GeneratePipelined(inputs, options, context.Cache, capacity, context, ct)) yield return t;
            }
            finally { Model.DecodeContexts.Return(context); }
            yield break;
        }
        using var cache = Model.NewCache(1, room);
        if (pipelined)
        {
            foreach (var t in GeneratePipelined(inputs, options, cache, capacity, null, ct)) yield return t;
            yield break;
        }
        ModelInputs stepInputs = inputs;
        for (int step = 0; step < options.MaxNewTokens && cache.Length < capacity; step++)
        {
            ct.ThrowIfCancellationRequested();
            int id;
            Tensor? kept = null;
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                using var output = Step(stepInputs, inputs, cache);
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

    // Greedy steps issued one ahead of the host (see Pipelined). The first token is read at once (its time is the prefill's:
    // what a streaming client waits for); from then on step k+1 is queued before token k is read.
    IEnumerable<GeneratedToken> GeneratePipelined(ModelInputs inputs, GenerationOptions options, KvCache cache, int capacity,
                                                 DecodeContexts.Context? context, CancellationToken ct)
    {
        var device = Model.Placement.Device;
        using var readback = new Runtime.TokenReadback(1, device);
        Tensor? next = null;                 // [1, 1] on the device: the last queued step's argmax, the input of the step after it
        FixedShapeDecoder? fixedSteps = null;
        try
        {
            int issued = 0;
            void Issue(ModelInputs stepInputs)
            {
                using var noGrad = no_grad();
                if (fixedSteps is not null)
                {
                    fixedSteps.Step();
                    cache.Advance(1);         // the host's count (the step itself reads its positions on the device)
                    readback.Enqueue(issued++ % 2, fixedSteps.Chosen);
                    return;
                }
                using var scope = NewDisposeScope();
                using var output = Step(stepInputs, inputs, cache);
                var id = output.Logits.view(1, -1).argmax(-1);
                readback.Enqueue(issued % 2, id);
                next?.Dispose();
                next = id.view(1, 1).MoveToOuterDisposeScope();
                issued++;
            }
            bool More() => issued < options.MaxNewTokens && cache.Length < capacity;

            ct.ThrowIfCancellationRequested();
            Issue(inputs);
            for (int step = 0; ; step++)
            {
                if (step > 0 && More())
                {
                    ct.ThrowIfCancellationRequested();
                    Issue(new ModelInputs(next!));
                }
                int id = (int)readback.Wait(step % 2)[0];
                yield return new GeneratedToken(id, step, null);
                if (options.StopOnEos && id == EosId) yield break;
                if (step == 0 && More())
                {
                    ct.ThrowIfCancellationRequested();
                    using (no_grad()) fixedSteps = context?.StepsFor(Model, next!, [cache.Length], [true]);
                    StepsUsed = FixedShapeDecoder.Kind(fixedSteps);
                    Issue(new ModelInputs(next!));
                }
                if (issued == step + 1) yield break;   // no step in flight: the budget or the cache is used up
            }
        }
        finally
        {
            next?.Dispose();   // fixedSteps belong to the context
        }
    }
}
