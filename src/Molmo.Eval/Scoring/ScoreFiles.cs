using Molmo.Eval.Benchmarks;

namespace Molmo.Eval.Scoring;

/// <summary>What <see cref="ScoreFiles.Score"/> returns: the summary and every item's score (in reference order).</summary>
public sealed record ScoreResult(ScoreSummary Summary, IReadOnlyList<ItemScore> Items);

/// <summary>Scores a predictions file against a references file (what <c>molmo eval score</c> does).</summary>
public static class ScoreFiles
{
    public static ScoreResult Score(MetricKind metric, string predictionsPath, string referencesPath, ScoringOptions? options = null)
    {
        var predictions = PredictionFile.Read(predictionsPath);
        var references = BenchmarkReader.Read(referencesPath);
        return Score(metric, predictions, references, options);
    }

    /// <exception cref="InvalidDataException">ids present on one side only (the message lists them).</exception>
    public static ScoreResult Score(MetricKind metric, IReadOnlyDictionary<string, string> predictions,
        IReadOnlyList<BenchmarkItem> references, ScoringOptions? options = null)
    {
        CheckIds(predictions.Keys, references.Select(r => r.Id));
        var items = references.Select(r => ItemScorer.Score(metric, predictions[r.Id], r, options)).ToList();
        return new ScoreResult(ScoreAggregator.Summarize(metric, items), items);
    }

    /// <summary>Throws when ids differ between the two sides, listing up to 20 of each kind.</summary>
    public static void CheckIds(IEnumerable<string> predictionIds, IEnumerable<string> referenceIds)
    {
        var p = new HashSet<string>(predictionIds, StringComparer.Ordinal);
        var r = new HashSet<string>(referenceIds, StringComparer.Ordinal);
        var noPrediction = r.Where(id => !p.Contains(id)).Order(StringComparer.Ordinal).ToList();
        var noReference = p.Where(id => !r.Contains(id)).Order(StringComparer.Ordinal).ToList();
        if (noPrediction.Count == 0 && noReference.Count == 0) return;
        var parts = new List<string>();
        if (noPrediction.Count > 0) parts.Add($"{noPrediction.Count} reference id(s) have no prediction: {List(noPrediction)}");
        if (noReference.Count > 0) parts.Add($"{noReference.Count} prediction id(s) have no reference: {List(noReference)}");
        throw new InvalidDataException(string.Join("; ", parts));
    }

    static string List(List<string> ids) =>
        string.Join(", ", ids.Take(20)) + (ids.Count > 20 ? $", … and {ids.Count - 20} more" : "");
}
