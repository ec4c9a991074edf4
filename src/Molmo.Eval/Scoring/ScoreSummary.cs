using System.Text.Json.Serialization;

namespace Molmo.Eval.Scoring;

/// <summary>
/// The dataset-level result of one metric: the main score (0–100), how many items were scored and how many predictions
/// could not be parsed, plus secondary scores (0–100) such as "hour", "precision", "close" or "subset:human".
/// </summary>
public sealed record ScoreSummary(
    [property: JsonPropertyName("metric")] string Metric,
    [property: JsonPropertyName("score")] double Score,
    [property: JsonPropertyName("items")] int Items,
    [property: JsonPropertyName("unparseable")] int Unparseable,
    [property: JsonPropertyName("sub_scores")] IReadOnlyDictionary<string, double> SubScores);
