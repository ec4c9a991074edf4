using System.Globalization;

namespace Molmo.Eval.Scoring;

/// <summary>Averages per-item scores into a <see cref="ScoreSummary"/> (each metric is a plain mean over items, ×100).</summary>
public static class ScoreAggregator
{
    public static ScoreSummary Summarize(MetricKind metric, IReadOnlyList<ItemScore> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        var subs = new SortedDictionary<string, double>(StringComparer.Ordinal);
        if (items.Count == 0) return new ScoreSummary(metric.ToName(), 0, 0, 0, subs);
        double score = 100 * items.Average(i => i.Score);

        foreach (var key in items.SelectMany(i => i.Details.Keys).Distinct())
        {
            // A detail missing on an item counts as 0 for that item.
            subs[key] = 100 * items.Average(i => i.Details.TryGetValue(key, out var v) ? v : 0);
        }
        if (metric == MetricKind.Count)
        {
            var byCount = items.Where(i => i.TrueCount.HasValue).GroupBy(i => i.TrueCount!.Value).OrderBy(g => g.Key).ToList();
            foreach (var g in byCount)
                subs[$"correct_{g.Key.ToString(CultureInfo.InvariantCulture)}"] = 100 * g.Average(i => i.Score);
            if (byCount.Count > 0) subs["per_category_average"] = byCount.Average(g => 100 * g.Average(i => i.Score));
        }
        var subsets = items.Where(i => i.Subset != null).GroupBy(i => i.Subset!).ToList();
        if (subsets.Count > 1 || (subsets.Count == 1 && subsets[0].Count() != items.Count))
            foreach (var g in subsets) subs[$"subset:{g.Key}"] = 100 * g.Average(i => i.Score);
        return new ScoreSummary(metric.ToName(), score, items.Count, items.Count(i => i.Unparseable), subs);
    }
}
