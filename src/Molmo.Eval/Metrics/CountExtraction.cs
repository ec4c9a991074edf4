using System.Text.RegularExpressions;

namespace Molmo.Eval.Metrics;

/// <summary>Reads the count out of a counting answer, as Molmo's <c>PointCountEval</c> does (CountBenchQA, PixMo-Count).</summary>
public static partial class CountExtraction
{
    static readonly string[] Words =
    [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
        "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
    ];

    [GeneratedRegex(@"a total of (\d+)")]
    private static partial Regex TotalOf();

    [GeneratedRegex(@"\bnone\b")]
    private static partial Regex NoneWord();

    /// <summary>
    /// Lower-case, strip, drop trailing '.', then: (1) the last whitespace token as an integer ("… a total of 7" → 7);
    /// (2) else the last token as a number word zero … twenty; (3) else "a total of N" anywhere; (4) else the word
    /// "none" gives 0. Returns null when nothing parses (an invalid answer).
    /// </summary>
    /// <param name="reproduceNoneBug">
    /// Molmo's "none" pattern is a non-raw Python string whose <c>\b</c> is a backspace, so "There are none." never
    /// parses there. Pass true to reproduce that (step 4 skipped). Published benchmarks only have counts 2–10, so the
    /// two choices give the same benchmark scores.
    /// </param>
    public static int? Extract(string? prediction, bool reproduceNoneBug = false)
    {
        var s = (prediction ?? "").ToLowerInvariant().Trim().TrimEnd('.');
        var tokens = VqaNormalization.SplitWhitespace(s);
        if (tokens.Length > 0)
        {
            var last = tokens[^1];
            if (TryParsePythonInt(last, out var n)) return n;
            int w = Array.IndexOf(Words, last);
            if (w >= 0) return w;
        }
        var m = TotalOf().Match(s);
        if (m.Success && int.TryParse(m.Groups[1].Value, out var total)) return total;
        if (!reproduceNoneBug && NoneWord().IsMatch(s)) return 0;
        return null;
    }

    /// <summary>Python <c>int(str)</c> on one token: optional sign, ASCII digits, single underscores between digits.</summary>
    static bool TryParsePythonInt(string token, out int value)
    {
        value = 0;
        var body = token.Length > 0 && token[0] is '+' or '-' ? token[1..] : token;
        if (body.Length == 0 || !char.IsAsciiDigit(body[0]) || !char.IsAsciiDigit(body[^1])) return false;
        for (int i = 0; i < body.Length; i++)
            if (!char.IsAsciiDigit(body[i]) && !(body[i] == '_' && char.IsAsciiDigit(body[i - 1]) && char.IsAsciiDigit(body[i + 1])))
                return false;
        if (!long.TryParse(body.Replace("_", ""), out var l) || l > int.MaxValue) return false;
        value = token[0] == '-' ? (int)-l : (int)l;
        return true;
    }
}
