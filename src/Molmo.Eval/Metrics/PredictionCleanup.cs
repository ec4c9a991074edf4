namespace Molmo.Eval.Metrics;

/// <summary>
/// The answer cleanup Molmo's VQA-style evaluator applies to generated text before any short-answer metric
/// (VQA score, ANLS, relaxed accuracy, multiple choice).
/// </summary>
public static class PredictionCleanup
{
    /// <summary>
    /// Strip. If the text contains "Answer:", keep what follows its first occurrence. Otherwise, if it has
    /// several lines, collapse whitespace in each line and return the most frequent line (ties: the first seen).
    /// Otherwise collapse runs of whitespace to single spaces.
    /// </summary>
    public static string Clean(string? text)
    {
        var s = (text ?? "").Trim();
        int at = s.IndexOf("Answer:", StringComparison.Ordinal);
        if (at >= 0) return s[(at + "Answer:".Length)..].Trim();
        if (s.Contains('\n'))
        {
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            var order = new List<string>();
            foreach (var line in s.Split('\n'))
            {
                var l = Collapse(line);
                if (!counts.TryAdd(l, 1)) counts[l]++;
                else order.Add(l);
            }
            string best = order[0];
            foreach (var l in order) if (counts[l] > counts[best]) best = l;
            return best;
        }
        return Collapse(s);
    }

    static string Collapse(string s) => string.Join(' ', VqaNormalization.SplitWhitespace(s));
}
