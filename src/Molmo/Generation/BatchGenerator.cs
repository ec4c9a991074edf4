using Molmo.Model;
using static TorchSharp.torch;

namespace Molmo.Generation;

/// <summary>The tokens one request of a batch produced and why it stopped.</summary>
public sealed record BatchSequenceResult(IReadOnlyList<int> Ids, FinishReason FinishReason);

/// <summary>
/// Decodes several independent requests (different images, prompt lengths and lengths of answer) together: each request is
/// prefilled into its own row of one KV cache, then every step runs a single forward pass for all rows, each at its own
/// position, with attention masked to its own history. With more requests than rows, a row whose request has finished takes
/// the next waiting request (continuous batching): its prompt is prefilled into that row while the others wait one step.
/// Each request has its own sampler with its own seed, so results equal those of running the requests one at a time: exactly
/// in float32; in bf16 and int8 on the CPU the batched matrix kernels sum in another order than the one-row ones, so the
/// logits agree to rounding and a near-tie between two tokens can go the other way.
/// </summary>
public sealed class BatchGenerator(MolmoForCausalLM model, int eosId)
{
    public MolmoForCausalLM Model { get; } = model;
    public int EosId { get; } = eosId;

    /// <summary>
    /// Whether greedy batches queue step t+1 on the device before reading step t's tokens (null, the default: on a GPU), as
    /// <see cref="Generator.Pipelined"/>. A row whose request ends at step t has computed one token more, which is dropped;
    /// its next request is prefilled after that step and its first token replaces the row's input. A row whose request needs
    /// no token beyond the one in flight idles for the step instead, so no row writes past its request's positions.
    /// </summary>
    public bool? Pipelined { get; set; }

    /// <summary>How greedy queued steps are issued, as <see cref="Generator.Steps"/> (default <see cref="DecodeSteps.Auto"/>).
    /// With fixed-shape steps or a CUDA graph, a refilled or idling row is switched by setting its input, position and
    /// whether it advances on the device, between steps.</summary>
    public DecodeSteps Steps { get; set; } = DecodeSteps.Auto;

    /// <summary>How the last batch issued its decode steps, as <see cref="Generator.StepsUsed"/>.</summary>
    public DecodeSteps StepsUsed { get; private set; } = DecodeSteps.Eager;

    /// <summary>
    /// Where each request's prefill may start from the stored keys and values of an earlier prompt with the same beginning
    /// (same image; requests about one image reuse the first one's), and where each prompt is stored in turn; null: every
    /// prompt is prefilled whole. Must belong to <see cref="Model"/>.
    /// </summary>
    public PrefixCache? Prefixes { get; set; }

    /// <summary>For each request of the last <see cref="Generate(IReadOnlyList{ModelInputs}, IReadOnlyList{GenerationOptions}, int, Func{int, int, bool}?, CancellationToken, Action{int}?, Action{int, FinishReason}?)"/>,
    /// the prompt positions taken from <see cref="Prefixes"/> instead of computed.</summary>
    public IReadOnlyList<int> ReusedPromptTokens { get; private set; } = [];

    /// <summary>All requests in one batch with the same options.</summary>
    /// <param name="onToken">Called with (request index, token id) as tokens are produced.</param>
    public IReadOnlyList<BatchSequenceResult> Generate(IReadOnlyList<ModelInputs> requests, GenerationOptions options,
                                                       Action<int, int>? onToken = null, CancellationToken ct = default) =>
        Generate(requests, requests.Select(_ => options).ToList(), requests.Count,
                 onToken is null ? null : (r, id) => { onToken(r, id); return true; }, ct);

    /// <param name="options">Each request's options (token budget, sampling, seed, EOS).</param>
    /// <param name="maxBatch">Rows decoded together; further requests wait for a row to finish.</param>
    /// <param name="onToken">Called with (request index, token id) as tokens are produced; returning false ends that request
    /// (<see cref="FinishReason.StopString"/>: the caller found a stop string in its text).</param>
    /// <param name="onStart">Called with the request index as its prefill begins.</param>
    /// <param name="onFinish">Called with the request index and the reason as it finishes.</param>
    public IReadOnlyList<BatchSequenceResult> Generate(IReadOnlyList<ModelInputs> requests, IReadOnlyList<GenerationOptions> options,
                                                       int maxBatch, Func<int, int, bool>? onToken = null, CancellationToken ct = default,
                                                       Action<int>? onStart = null, Action<int, FinishReason>? onFinish = null)
    {
        int n = requests.Count;
        if (options.Count != n) throw new ArgumentException($"{n} requests but {options.Count} sets of options");
        if (maxBatch < 1) throw new ArgumentException($"the batch must hold at least one row (got {maxBatch})");
        foreach (var o in options) o.Validate();
        var reusedTokens = new int[n];
        ReusedPromptTokens = reusedTokens;
        StepsUsed = DecodeSteps.Eager;
        if (n == 0) return [];
        var promptLens = requests.Select(r =>
        {
            if (r.InputIds.dim() != 2 || r.InputIds.shape[0] != 1) throw new ArgumentException("each request is one sequence: input_ids [1, S]");
            return (int)r.InputIds.shape[1];
        }).ToArray();
        int maxPos = Model.Config.MaxPositionEmbeddings;
        if (promptLens.Max() >= maxPos) throw new ArgumentException($"a prompt has {promptLens.Max()} tokens; the model handles at most {maxPos} positions");
        // Every request fits its row: its prompt and the answer's tokens but the last (which is never fed back), within the
        // model's positions (as Generator: at most one token past the last position).
        var budget = Enumerable.Range(0, n).Select(i => Math.Min(options[i].MaxNewTokens, maxPos - promptLens[i] + 1)).ToArray();
        // (and room for each prompt's padded prefill, MolmoForCausalLM.PrefillBucket)
        int capacity = Enumerable.Range(0, n).Max(i => Math.Max(promptLens[i] + budget[i] - 1, Model.PrefillLength(promptLens[i])));
        int rows = Math.Min(n, maxBatch);

        var samplers = new Sampler?[n];
        var ids = requests.Select(_ => new List<int>()).ToArray();
        var finish = new FinishReason?[n];
        var rowRequest = Enumerable.Repeat(-1, rows).ToArray();   // the request a row decodes; −1 when idle
        var next = new long[rows];
        var starts = new int[rows];                                  // requests a row has started (tells a row's requests apart)
        int waiting = 0;                                             // the next request to start
        bool greedy = options.All(o => o.Temperature == 0);
        bool pipelined = greedy && (Pipelined ?? Model.Placement.Device.type != TorchSharp.DeviceType.CPU);
        // Fixed-shape steps run in a context kept from an earlier batch of as many rows where one fits (its graph is
        // replayed, not recorded again), and go back to the model's DecodeContexts afterwards.
        var steps = Steps.On(Model.Placement.Device);
        var context = pipelined && steps != DecodeSteps.Eager ? Model.DecodeContexts.Rent(Model, steps, rows, capacity) : null;
        var cache = context?.Cache ?? Model.NewCache(rows, capacity);
        try
        {
            using var noGrad = no_grad();
            for (int row = 0; row < rows; row++) Start(row, cache);
            if (pipelined) DecodePipelined(cache);
            else while (rowRequest.Any(r => r >= 0))
            {
                ct.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var input = tensor(next, [rows, 1]);
                using var output = Model.Forward(new ModelInputs(input), cache, new ForwardOptions { AllLogits = false });
                var logits = output.Logits.view(rows, -1);
                // Greedy: one argmax over every row and one copy to the host (a device sync per step, not per row).
                long[]? chosen = greedy ? Sampler.Greedy(logits).data<long>().ToArray() : null;
                // Sampling: every row's logits to the host in one copy (on a GPU, one sync a step instead of one a row); each
                // row's sampler reads its own.
                var sampled = greedy ? null : logits.to(ScalarType.Float32).cpu();
                for (int row = 0; row < rows; row++)
                {
                    int r = rowRequest[row];
                    if (r < 0) { cache.SetRowLength(row, 0); continue; }
                    next[row] = chosen?[row] ?? samplers[r]!.Next(sampled![row].unsqueeze(0)).item<long>();
                    if (!Accept(row)) Start(row, cache);
                }
            }
        }
        finally
        {
            foreach (var s in samplers) s?.Dispose();
            if (context is null) cache.Dispose();
            else Model.DecodeContexts.Return(context);
        }
        return ids.Select((l, r) => new BatchSequenceResult(l, finish[r] ?? FinishReason.MaxTokens)).ToArray();

        // Greedy steps issued one ahead of the host (see Pipelined): step t+1 is queued, then step t's tokens are read.
        void DecodePipelined(KvCache cache)
        {
            var device = Model.Placement.Device;
            using var readback = new Runtime.TokenReadback(rows, device);
            var input = Runtime.HostTransfer.Int64(next, [rows, 1], device).DetachFromDisposeScope();   // [rows, 1] on the device
            // The step in flight: its slot, and for each row the request (−1: none) and start whose token it computes.
            int[]? flightRequest = null, flightStart = null;
            int flightSlot = 0, slot = 0;
            // Fixed-shape steps (or their CUDA graph) keep each row's input, position and whether it advances on the device.
            var fixedOn = rowRequest.Select(r => r >= 0).ToArray();
            var fixedSteps = context?.StepsFor(Model, input,
                Enumerable.Range(0, rows).Select(row => fixedOn[row] ? cache.RowLengths[row] : 0).ToArray(), fixedOn);
            StepsUsed = FixedShapeDecoder.Kind(fixedSteps);
            try
            {
                while (true)
                {
                    ct.ThrowIfCancellationRequested();
                    // Rows to decode: running requests that need a token beyond the one in flight.
                    var decode = new int[rows];
                    for (int row = 0; row < rows; row++)
                    {
                        int r = rowRequest[row];
                        bool inFlight = r >= 0 && flightRequest?[row] == r && flightStart![row] == starts[row];
                        decode[row] = r >= 0 && ids[r].Count + (inFlight ? 1 : 0) < budget[r] ? r : -1;
                    }
                    int[]? queuedRequest = null, queuedStart = null;
                    int queuedSlot = slot;
                    if (decode.Any(r => r >= 0))
                    {
                        if (fixedSteps is not null)
                        {
                            // A row stops decoding only when it idles or drains; it starts again only when restarted (below).
                            for (int row = 0; row < rows; row++)
                                if (decode[row] < 0 && fixedOn[row]) { fixedSteps.SetRow(row, null, 0, false); fixedOn[row] = false; }
                            fixedSteps.Step();
                            readback.Enqueue(slot, fixedSteps.Chosen);
                        }
                        else
                        {
                            // Rows not decoded write one scratch position, before and after the step (which advanced them).
                            for (int row = 0; row < rows; row++) if (decode[row] < 0) cache.SetRowLength(row, 0);
                            using (var scope = NewDisposeScope())
                            {
                                using var output = Model.Forward(new ModelInputs(input), cache, new ForwardOptions { AllLogits = false });
                                var chosen = output.Logits.view(rows, -1).argmax(-1);
                                readback.Enqueue(slot, chosen);
                                input.Dispose();
                                input = chosen.view(rows, 1).DetachFromDisposeScope();
                            }
                            for (int row = 0; row < rows; row++) if (decode[row] < 0) cache.SetRowLength(row, 0);
                        }
                        (queuedRequest, queuedStart) = (decode, starts.ToArray());
                        slot ^= 1;
                    }
                    if (flightRequest is null && queuedRequest is null) break;
                    if (flightRequest is not null)
                    {
                        var got = readback.Wait(flightSlot);
                        var restarted = new long[rows];
                        for (int row = 0; row < rows; row++)
                        {
                            int r = flightRequest[row];
                            if (r < 0 || rowRequest[row] != r || starts[row] != flightStart![row]) continue;
                            next[row] = got[row];
                            if (Accept(row)) continue;
                            Start(row, cache);
                            restarted[row] = 1;
                        }
                        if (fixedSteps is not null)
                        {
                            for (int row = 0; row < rows; row++)
                            {
                                if (restarted[row] == 0) continue;
                                fixedOn[row] = rowRequest[row] >= 0;
                                if (fixedOn[row]) fixedSteps.SetRow(row, next[row], cache.RowLengths[row], true);
                                else fixedSteps.SetRow(row, null, 0, false);
                            }
                        }
                        else if (restarted.Any(x => x != 0))
                            using (var scope = NewDisposeScope())
                            {
                                // A restarted row's next input is its new request's first token, not the dropped one.
                                var take = Runtime.HostTransfer.Int64(restarted, [rows, 1], device).ne(Runtime.Scalars.Of(0));
                                var replaced = where(take, Runtime.HostTransfer.Int64(next, [rows, 1], device), input);
                                input.Dispose();
                                input = replaced.DetachFromDisposeScope();
                            }
                    }
                    (flightRequest, flightStart, flightSlot) = (queuedRequest, queuedStart, queuedSlot);
                }
            }
            finally { input.Dispose(); }
        }

        // Gives the row the next waiting request (prefilled into the row, its first token sampled), until one is still running.
        void Start(int row, KvCache cache)
        {
            starts[row]++;
            rowRequest[row] = -1;
            cache.SetRowLength(row, 0);   // an idle row keeps one scratch position (its length returns to 0 after every step)
            while (waiting < n)
            {
                ct.ThrowIfCancellationRequested();
                int r = waiting++;
                rowRequest[row] = r;
                onStart?.Invoke(r);
                samplers[r] = new Sampler(options[r]);
                using (var scope = NewDisposeScope())
                {
                    using var view = cache.Row(row);
                    using var output = PrefixCache.Prefill(Prefixes, Model, requests[r], view, out reusedTokens[r]);
                    cache.SetRowLength(row, view.Length);
                    next[row] = samplers[r]!.Next(output.Logits.view(1, -1)).item<long>();
                }
                if (Accept(row)) return;
                // Finished on its first token: the next request starts from an empty row, not after this one's prompt.
                rowRequest[row] = -1;
                cache.SetRowLength(row, 0);
            }
        }

        // Records the row's token; false when its request has finished.
        bool Accept(int row)
        {
            int r = rowRequest[row], id = (int)next[row];
            ids[r].Add(id);
            if (onToken is not null && !onToken(r, id)) finish[r] = FinishReason.StopString;
            else if (options[r].StopOnEos && id == EosId) finish[r] = FinishReason.Eos;
            else if (ids[r].Count >= budget[r]) finish[r] = FinishReason.MaxTokens;
            if (finish[r] is null) return true;
            samplers[r]!.Dispose();
            samplers[r] = null;
            onFinish?.Invoke(r, finish[r]!.Value);
            return false;
        }
    }
}
