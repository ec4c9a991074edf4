using Molmo.Model;
using static TorchSharp.torch;

namespace Molmo.Generation;

/// <summary>The tokens one request of a batch produced and why it stopped.</summary>
public sealed record BatchSequenceResult(IReadOnlyList<int> Ids, FinishReason FinishReason);

/// <summary>
/// Decodes several independent requests (different images, prompt lengths and lengths of answer) together: each request is
/// prefilled into its own row of one KV cache, then every step runs a single forward pass for all rows, each at its own
/// position, with attention masked to its own history. Each row has its own sampler with the request's seed, so results equal
/// those of running the requests one at a time (exactly for greedy decoding, up to float summation order for the logits).
/// </summary>
public sealed class BatchGenerator(MolmoForCausalLM model, int eosId)
{
    public MolmoForCausalLM Model { get; } = model;
    public int EosId { get; } = eosId;

    /// <param name="onToken">Called with (request index, token id) as tokens are produced.</param>
    public IReadOnlyList<BatchSequenceResult> Generate(IReadOnlyList<ModelInputs> requests, GenerationOptions options,
                                                       Action<int, int>? onToken = null, CancellationToken ct = default)
    {
        options.Validate();
        int n = requests.Count;
        if (n == 0) return [];
        var promptLens = requests.Select(r =>
        {
            if (r.InputIds.dim() != 2 || r.InputIds.shape[0] != 1) throw new ArgumentException("each request is one sequence: input_ids [1, S]");
            return (int)r.InputIds.shape[1];
        }).ToArray();
        int maxPos = Model.Config.MaxPositionEmbeddings;
        if (promptLens.Max() >= maxPos) throw new ArgumentException($"a prompt has {promptLens.Max()} tokens; the model handles at most {maxPos} positions");
        int capacity = Math.Min(promptLens.Max() + options.MaxNewTokens, maxPos);

        var samplers = requests.Select(_ => new Sampler(options)).ToArray();
        var ids = requests.Select(_ => new List<int>()).ToArray();
        var finish = new FinishReason?[n];
        var next = new long[n];
        try
        {
            using var cache = Model.NewCache(n, capacity);
            using var noGrad = no_grad();
            // Prefill each request into its own cache row.
            for (int b = 0; b < n; b++)
            {
                ct.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                using var row = cache.Row(b);
                using var output = Model.Forward(requests[b], row, new ForwardOptions { AllLogits = false });
                cache.SetRowLength(b, row.Length);
                next[b] = samplers[b].Next(output.Logits.view(1, -1)).item<long>();
                Accept(b);
            }
            // Decode all rows together until every one has finished.
            while (finish.Any(f => f is null))
            {
                ct.ThrowIfCancellationRequested();
                if (cache.Length + 1 > capacity) { for (int b = 0; b < n; b++) finish[b] ??= FinishReason.MaxTokens; break; }
                using var scope = NewDisposeScope();
                var input = tensor(next, [n, 1]);
                using var output = Model.Forward(new ModelInputs(input), cache, new ForwardOptions { AllLogits = false });
                var logits = output.Logits.view(n, -1);
                // Greedy: one argmax over every row and one copy to the host (a device sync per step, not per row).
                long[]? greedy = options.Temperature == 0 ? samplers[0].Next(logits).data<long>().ToArray() : null;
                for (int b = 0; b < n; b++)
                {
                    if (finish[b] is not null) continue;
                    next[b] = greedy?[b] ?? samplers[b].Next(logits[b].unsqueeze(0)).item<long>();
                    Accept(b);
                }
            }
        }
        finally
        {
            foreach (var s in samplers) s.Dispose();
        }
        return ids.Select((l, b) => new BatchSequenceResult(l, finish[b] ?? FinishReason.MaxTokens)).ToArray();

        void Accept(int b)
        {
            int id = (int)next[b];
            ids[b].Add(id);
            onToken?.Invoke(b, id);
            if (options.StopOnEos && id == EosId) finish[b] = FinishReason.Eos;
            else if (ids[b].Count >= options.MaxNewTokens) finish[b] = FinishReason.MaxTokens;
        }
    }
}
