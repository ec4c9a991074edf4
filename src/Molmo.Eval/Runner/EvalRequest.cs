namespace Molmo.Eval.Runner;

/// <summary>
/// One generation request of the runner. <see cref="Prompt"/> is the user text including the style prefix
/// (e.g. "vqa2: What color is the bus?") but without the " User: … Assistant:" wrapper, which the engine adds.
/// Exactly one of <see cref="ImageBytes"/> and <see cref="ImagePath"/> is set.
/// </summary>
public sealed record EvalRequest
{
    /// <summary>The benchmark item id (for logging).</summary>
    public required string Id { get; init; }
    public byte[]? ImageBytes { get; init; }
    public string? ImagePath { get; init; }
    public required string Prompt { get; init; }
    /// <summary>The task's style tag (e.g. "vqa2", "point_count"), also when the prompt carries no prefix.</summary>
    public string? Style { get; init; }
    public required int MaxNewTokens { get; init; }
}
