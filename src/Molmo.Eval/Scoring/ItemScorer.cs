using System.Globalization;
using Molmo.Eval.Benchmarks;
using Molmo.Eval.Metrics;

namespace Molmo.Eval.Scoring;

/// <summary>Scores one prediction against one reference item with a given metric.</summary>
public static class ItemScorer
{
    /// <exception cref="InvalidDataException">the reference lacks what the metric needs (the message names the id and field).</exception>
    public static ItemScore Score(MetricKind metric, string? prediction, BenchmarkItem reference, ScoringOptions? options = null)
    {
        options ??= new ScoringOptions();
        var raw = prediction ?? "";
        var where = $"reference id {reference.Id}";
        switch (metric)
        {
            case MetricKind.Vqa:
            case MetricKind.VqaOfficial:
            {
                var answers = NeedAnswers(reference, where);
                var p = Clean(raw, options);
                double molmo = VqaScore.Molmo(p, answers), official = VqaScore.Official(p, answers);
                var details = new Dictionary<string, double> { ["vqa_molmo"] = molmo, ["vqa_official"] = official };
                return Make(reference, metric == MetricKind.Vqa ? molmo : official, p.Length == 0, p, details);
            }
            case MetricKind.Anls:
            {
                var answers = NeedAnswers(reference, where);
                var p = Clean(raw, options);
                var details = new Dictionary<string, double> { ["em"] = Anls.ExactMatch(p, answers) ? 1 : 0 };
                return Make(reference, Anls.Score(p, answers), p.Length == 0, p, details);
            }
            case MetricKind.Relaxed:
            {
                var answers = NeedAnswers(reference, where);
                var p = Clean(raw, options);
                bool em = answers.Any(a => string.Equals(a.ToLowerInvariant(), p.ToLowerInvariant(), StringComparison.Ordinal));
                var details = new Dictionary<string, double> { ["em"] = em ? 1 : 0 };
                return Make(reference, RelaxedAccuracy.Score(p, answers), p.Length == 0, p, details);
            }
            case MetricKind.MultipleChoice:
            {
                var (names, answerIndex) = MultipleChoiceReference.Resolve(reference);
                var p = Clean(raw, options);
                var (chosen, kind) = MultipleChoice.Select(p, names);
                var details = new Dictionary<string, double> { ["matched_without_edit_distance"] = kind == MultipleChoice.MatchKind.EditDistance ? 0 : 1 };
                return Make(reference, chosen == answerIndex ? 1 : 0, p.Length == 0, names[chosen], details);
            }
            case MetricKind.Count:
            {
                if (reference.Answer == null || !int.TryParse(reference.Answer.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var truth))
                    throw new InvalidDataException($"{where}: \"answer\" must be an integer count, got '{reference.Answer}'");
                var n = CountExtraction.Extract(raw, options.ReproduceCountNoneBug);
                var details = new Dictionary<string, double>
                {
                    ["close"] = n.HasValue && Math.Abs(n.Value - truth) <= 1 ? 1 : 0,
                    ["valid"] = n.HasValue ? 1 : 0,
                };
                return Make(reference, n == truth ? 1 : 0, !n.HasValue, n?.ToString(CultureInfo.InvariantCulture), details) with { TrueCount = truth };
            }
            case MetricKind.Clock:
            {
                var truth = reference.Answer == null ? null : ClockReading.Parse(reference.Answer);
                if (truth is null) throw new InvalidDataException($"{where}: \"answer\" must be a time \"H:MM\", got '{reference.Answer}'");
                var j = ClockReading.Judge(raw, truth.Value);
                var details = new Dictionary<string, double> { ["hour"] = j.HourCorrect ? 1 : 0, ["minute"] = j.MinuteClose ? 1 : 0 };
                return Make(reference, j.AllClose ? 1 : 0, !j.Parsed, ClockReading.Parse(raw)?.ToString(), details);
            }
            case MetricKind.Points:
            {
                if (reference.Points == null) throw new InvalidDataException($"{where}: pointing needs \"points\" (an empty list when the object is absent)");
                if (reference.Width is not > 0 || reference.Height is not > 0)
                    throw new InvalidDataException($"{where}: pointing needs the original image \"width\" and \"height\" in pixels");
                int w = reference.Width.Value, h = reference.Height.Value;
                var truth = reference.Points.Select(p => new PixelPoint(p.X / 100.0 * w, p.Y / 100.0 * h)).ToList();
                IReadOnlyList<BinaryMask>? masks = null;
                if (reference.Masks != null)
                {
                    if (reference.Masks.Count != truth.Count)
                        throw new InvalidDataException($"{where}: {reference.Masks.Count} masks for {truth.Count} points; give one mask per point");
                    masks = reference.Masks.Select(m => LoadMask(m, w, h, where)).ToList();
                }
                double radius = options.PointHitRadiusFraction * Math.Sqrt((double)w * w + (double)h * h);
                var j = PointingScore.Judge(raw, truth, w, h, masks, radius);
                var details = new Dictionary<string, double> { ["precision"] = j.Precision, ["recall"] = j.Recall };
                return Make(reference, j.F1, !j.FormatOk, j.Predicted.ToString(CultureInfo.InvariantCulture), details);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(metric), metric, "unknown metric");
        }
    }

    static BinaryMask LoadMask(Scoring.MaskReference m, int w, int h, string where)
    {
        var mask = m.Load();
        if (mask.Width != w || mask.Height != h)
            throw new InvalidDataException($"{where}: mask {m.Description} is {mask.Width}x{mask.Height}, the image is {w}x{h}");
        return mask;
    }

    static ItemScore Make(BenchmarkItem r, double score, bool unparseable, string? parsed, Dictionary<string, double> details) =>
        new(r.Id, score, unparseable, parsed, details) { Subset = r.Subset };

    static string Clean(string raw, ScoringOptions o) => o.CleanPredictions ? PredictionCleanup.Clean(raw) : raw;

    static IReadOnlyList<string> NeedAnswers(BenchmarkItem r, string where)
    {
        if (r.Answers.Count > 0) return r.Answers;
        if (r.Answer != null) return [r.Answer];
        throw new InvalidDataException($"{where}: \"answers\" is missing or empty");
    }
}
