using Molmo.Eval.Runner;

namespace Molmo.Eval.Tests.Runner;

/// <summary>A deterministic model: answers from a table keyed by item id; records every request; can fail after N calls.</summary>
sealed class FakeModel(IReadOnlyDictionary<string, string> answers, string name = "fake-model") : IEvalModel
{
    public string Name => name;
    public List<EvalRequest> Requests { get; } = [];
    public int? FailAfter { get; set; }

    public Task<string> GenerateAsync(EvalRequest request, CancellationToken ct)
    {
        if (FailAfter is int n && Requests.Count >= n) throw new OperationCanceledException("simulated interruption");
        Requests.Add(request);
        return Task.FromResult(answers.TryGetValue(request.Id, out var a) ? a : "");
    }
}
