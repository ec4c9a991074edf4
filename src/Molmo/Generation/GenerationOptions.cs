namespace Molmo.Generation;

/// <summary>
/// Decoding settings. Temperature 0 (the default) is greedy decoding, as the reference evaluates; otherwise tokens are
/// sampled from softmax(logits / temperature), optionally restricted to the top-k ids and the top-p probability mass,
/// from a generator seeded with <see cref="Seed"/> (same seed, same output).
/// </summary>
public sealed record GenerationOptions
{
    public int MaxNewTokens { get; init; } = 200;
    public double Temperature { get; init; }
    public int TopK { get; init; }
    public double TopP { get; init; } = 1.0;
    public long Seed { get; init; } = 0;
    /// <summary>Stop when the generated text contains one of these (the stop string is not returned).</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];
    /// <summary>Stop after the EOS token (it is generated and counted, but never returned as text).</summary>
    public bool StopOnEos { get; init; } = true;

    public void Validate()
    {
        if (MaxNewTokens < 1) throw new ArgumentException($"max new tokens must be at least 1 (got {MaxNewTokens})");
        if (Temperature < 0 || double.IsNaN(Temperature)) throw new ArgumentException($"temperature must be ≥ 0 (got {Temperature})");
        if (TopK < 0) throw new ArgumentException($"top-k must be ≥ 0 (got {TopK})");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentException($"top-p must be in (0, 1] (got {TopP})");
        if (StopStrings.Any(string.IsNullOrEmpty)) throw new ArgumentException("stop strings must not be empty");
    }
}

/// <summary>Why generation ended.</summary>
public enum FinishReason { Eos, StopString, MaxTokens, Cancelled }
