namespace Molmo.Eval.Runner;

/// <summary>
/// What the runner needs from a model: greedy generation for one image and one user text. The engine adapts itself to
/// this (the CLI gets one from <c>EvalCommand.ModelFactory</c>); tests use a fake.
/// </summary>
public interface IEvalModel
{
    /// <summary>A name for reports (e.g. "Molmo-7B-D-0924").</summary>
    string Name { get; }

    /// <summary>Generates the answer text (special tokens removed) for one request.</summary>
    Task<string> GenerateAsync(EvalRequest request, CancellationToken ct);

    /// <summary>
    /// Generates the answers of several requests, decoding up to <paramref name="batch"/> of them together where the model
    /// can (the engine's batched decoding), and calls <paramref name="onAnswer"/> with (index, answer) as each is ready. The
    /// answers must equal those of <see cref="GenerateAsync"/>. By default the requests are answered one at a time.
    /// </summary>
    async Task GenerateBatchAsync(IReadOnlyList<EvalRequest> requests, int batch, Action<int, string> onAnswer, CancellationToken ct)
    {
        for (int i = 0; i < requests.Count; i++) onAnswer(i, await GenerateAsync(requests[i], ct).ConfigureAwait(false));
    }
}
