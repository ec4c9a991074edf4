namespace Molmo.Eval.Metrics;

/// <summary>Maps a free-text answer to one option, as Molmo's <c>select_mc_option</c> does (AI2D, A-OKVQA MC, RealWorldQA).</summary>
public static class MultipleChoice
{
    /// <summary>How <see cref="Select"/> arrived at its choice.</summary>
    public enum MatchKind { Exact, Substring, EditDistance }

    /// <summary>
    /// Lower-case and strip the prediction and the option names; return the first option equal to the prediction;
    /// else, if the prediction is a substring of exactly one option, that option; else the option with the smallest
    /// edit distance (the first on ties). Option names are the letters ("A", "B", …) when the prompt lists lettered
    /// options, or the option texts when it does not.
    /// </summary>
    /// <exception cref="ArgumentException">no options, or two options equal after lower-casing.</exception>
    public static (int Index, MatchKind Kind) Select(string prediction, IReadOnlyList<string> optionNames)
    {
        ArgumentNullException.ThrowIfNull(optionNames);
        if (optionNames.Count == 0) throw new ArgumentException("multiple choice needs at least one option", nameof(optionNames));
        var target = prediction.ToLowerInvariant().Trim();
        var opts = optionNames.Select(o => o.ToLowerInvariant().Trim()).ToArray();
        if (opts.Distinct(StringComparer.Ordinal).Count() != opts.Length)
            throw new ArgumentException($"multiple-choice options must be distinct (case-insensitive): [{string.Join(", ", optionNames)}]",
                nameof(optionNames));
        for (int i = 0; i < opts.Length; i++) if (opts[i] == target) return (i, MatchKind.Exact);
        int found = -1, hits = 0;
        for (int i = 0; i < opts.Length; i++)
            if (opts[i].Contains(target, StringComparison.Ordinal)) { hits++; found = i; }
        if (hits == 1) return (found, MatchKind.Substring);
        int best = 0, bestD = int.MaxValue;
        for (int i = 0; i < opts.Length; i++)
        {
            int d = Levenshtein.Distance(opts[i], target);
            if (d < bestD) { bestD = d; best = i; }
        }
        return (best, MatchKind.EditDistance);
    }

    /// <summary>Option letters "A", "B", … for <paramref name="count"/> options (after "Z": "AA", "AB", …).</summary>
    public static IReadOnlyList<string> Letters(int count)
    {
        var list = new List<string>(count);
        for (int i = 0; i < count; i++) list.Add(i < 26 ? ((char)('A' + i)).ToString() : $"{(char)('A' + i / 26 - 1)}{(char)('A' + i % 26)}");
        return list;
    }
}
