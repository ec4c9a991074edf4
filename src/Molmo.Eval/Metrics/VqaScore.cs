namespace Molmo.Eval.Metrics;

/// <summary>VQA soft accuracy (VQA v2, TextVQA) in Molmo's variant and in the official leave-one-out variant.</summary>
public static class VqaScore
{
    /// <summary>
    /// Molmo's <c>vqa_score</c>: normalise prediction and every reference with <see cref="VqaNormalization.NormalizeMolmo"/>,
    /// then min(1, matches / 3) counting all references (not leave-one-out). Returns 0–1; 0 when there are no references.
    /// </summary>
    public static double Molmo(string prediction, IReadOnlyList<string> answers)
    {
        ArgumentNullException.ThrowIfNull(answers);
        if (answers.Count == 0) return 0;
        var pred = VqaNormalization.NormalizeMolmo(prediction);
        int matches = answers.Count(a => VqaNormalization.NormalizeMolmo(a) == pred);
        return Math.Min(1.0, matches / 3.0);
    }

    /// <summary>
    /// The official VQA accuracy: the prediction gets whitespace cleanup, official punctuation processing and
    /// digit/article processing; references get punctuation processing only, and only when they disagree.
    /// Score = mean over each reference left out of min(1, matches among the others / 3). Returns 0–1.
    /// </summary>
    public static double Official(string prediction, IReadOnlyList<string> answers)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(answers);
        if (answers.Count == 0) return 0;
        var pred = prediction.Replace('\n', ' ').Replace('\t', ' ').Trim();
        pred = VqaNormalization.ProcessDigitArticle(VqaNormalization.ProcessPunctuation(pred, VqaNormalization.OfficialPunctuation));

        var refs = answers.ToArray();
        if (refs.Distinct(StringComparer.Ordinal).Count() > 1)
            for (int i = 0; i < refs.Length; i++)
                refs[i] = VqaNormalization.ProcessPunctuation(refs[i], VqaNormalization.OfficialPunctuation);

        int total = refs.Count(r => r == pred);
        double sum = 0;
        for (int i = 0; i < refs.Length; i++)
        {
            int others = total - (refs[i] == pred ? 1 : 0);
            sum += Math.Min(1.0, others / 3.0);
        }
        return sum / refs.Length;
    }
}
