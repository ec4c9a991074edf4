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
}
