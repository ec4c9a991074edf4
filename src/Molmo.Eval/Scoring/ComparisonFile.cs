using System.Text.Json;
using Molmo.Eval.Benchmarks;
using Molmo.Eval.Metrics;

namespace Molmo.Eval.Scoring;

/// <summary>
/// Reads pairwise human-preference ratings: JSON Lines of <c>{"a": model, "b": model, "winner": "a" | "b" | "tie"}</c>.
/// "tie_good", "tie_bad", "both_good" and "both_bad" count as ties; "dont_know" / "skip" lines are dropped (as the
/// paper dropped "don't know" answers) and counted.
/// </summary>
public static class ComparisonFile
{
    public sealed record Result(IReadOnlyList<PairwiseComparison> Comparisons, int Dropped);

    public static Result Read(string path)
    {
        var list = new List<PairwiseComparison>();
        int dropped = 0;
        foreach (var (line, o) in JsonlFile.ReadObjects(path))
        {
            var where = $"{path}:{line}";
            string Field(string name) =>
                o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString()!.Trim().Length > 0
                    ? v.GetString()!.Trim()
                    : throw new InvalidDataException($"{where}: \"{name}\" must be a non-empty string");
            var a = Field("a");
            var b = Field("b");
            var w = Field("winner").ToLowerInvariant();
            PreferenceOutcome? outcome = w switch
            {
                "a" => PreferenceOutcome.AWins,
                "b" => PreferenceOutcome.BWins,
                "tie" or "tie_good" or "tie_bad" or "both_good" or "both_bad" => PreferenceOutcome.Tie,
                "dont_know" or "don't know" or "skip" => null,
                _ => throw new InvalidDataException($"{where}: \"winner\" must be \"a\", \"b\" or \"tie\", got \"{w}\""),
            };
            if (outcome is null) { dropped++; continue; }
            if (string.Equals(a, b, StringComparison.Ordinal)) throw new InvalidDataException($"{where}: model '{a}' is compared with itself");
            list.Add(new PairwiseComparison(a, b, outcome.Value));
        }
        if (list.Count == 0) throw new InvalidDataException($"{path}: no usable comparisons");
        return new Result(list, dropped);
    }
}
