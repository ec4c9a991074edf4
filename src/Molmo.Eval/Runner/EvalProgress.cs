namespace Molmo.Eval.Runner;

/// <summary>
/// Progress of a run: <see cref="Done"/> of <see cref="Total"/> items have a prediction (<see cref="Resumed"/> of them
/// from an earlier, interrupted run), the running score (0–100) over the done items, and the estimated time left.
/// </summary>
public sealed record EvalProgress(int Done, int Total, int Resumed, string? LastId, double RunningScore, TimeSpan Elapsed, TimeSpan? Eta);
