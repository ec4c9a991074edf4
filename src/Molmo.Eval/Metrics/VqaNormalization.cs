using System.Text;
using System.Text.RegularExpressions;

namespace Molmo.Eval.Metrics;

/// <summary>
/// Answer normalisation of the VQA evaluation, in the two flavours that matter: the one Molmo's
/// <c>vqa_score</c> applies to prediction and references, and the official VQA tool's pieces
/// (punctuation processing, digit/article processing).
/// </summary>
public static partial class VqaNormalization
{
    /// <summary>Punctuation set of Molmo's <c>vqa_score</c> (no ':' and no apostrophe; '{', '}', '-' and '!' included).</summary>
    public const string MolmoPunctuation = ";/[]\"{}()=+\\_-><@`,?!";

    /// <summary>Punctuation set of the official VQA evaluation tool.</summary>
    public const string OfficialPunctuation = ";:/'[]\"()=+\\_><@`,?";

    static readonly Dictionary<string, string> NumberWords = new(StringComparer.Ordinal)
    {
        ["none"] = "0", ["zero"] = "0", ["one"] = "1", ["two"] = "2", ["three"] = "3", ["four"] = "4",
        ["five"] = "5", ["six"] = "6", ["seven"] = "7", ["eight"] = "8", ["nine"] = "9", ["ten"] = "10",
    };

    static readonly HashSet<string> Articles = new(StringComparer.Ordinal) { "a", "an", "the" };

    [GeneratedRegex(@"(\d)(,)(\d)")]
    private static partial Regex DigitCommaDigit();

    // A '.' not followed by a digit. (The reference regex also has a malformed look-behind that never matches
    // anything, so it is a no-op and is left out here.)
    [GeneratedRegex(@"\.(?!\d)")]
    private static partial Regex PeriodNotBeforeDigit();

    /// <summary>
    /// The reference passes <c>re.UNICODE</c> (= 32) positionally as the <c>count</c> argument of <c>re.sub</c>,
    /// so at most 32 periods are removed. Reproduced deliberately.
    /// </summary>
    public const int PeriodStripLimit = 32;

    /// <summary>Molmo's full normalisation (applied to the prediction and to every reference answer).</summary>
    public static string NormalizeMolmo(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var s = text.Replace('\n', ' ').Replace('\t', ' ').ToLowerInvariant().Trim();
        s = ProcessPunctuation(s, MolmoPunctuation);
        return ProcessDigitArticle(s);
    }

    /// <summary>
    /// Punctuation step shared by both flavours: for each punctuation character p, delete it if "p " or " p"
    /// occurs in the input or the input contains digit-comma-digit anywhere; otherwise replace it with a space.
    /// Then remove periods that are not followed by a digit (at most <see cref="PeriodStripLimit"/>).
    /// </summary>
    public static string ProcessPunctuation(string input, string punctuation)
    {
        bool hasDigitComma = DigitCommaDigit().IsMatch(input);
        var sb = new StringBuilder(input);
        foreach (char p in punctuation)
        {
            bool delete = hasDigitComma || input.Contains(string.Concat(p, ' '), StringComparison.Ordinal)
                                        || input.Contains(string.Concat(' ', p), StringComparison.Ordinal);
            if (delete) sb.Replace(p.ToString(), "");
            else sb.Replace(p, ' ');
        }
        return PeriodNotBeforeDigit().Replace(sb.ToString(), "", PeriodStripLimit);
    }

    /// <summary>
    /// Lower-case, split on whitespace, map number words (none/zero … ten) to digits, drop articles,
    /// expand apostrophe-less contractions, and join with single spaces.
    /// </summary>
    public static string ProcessDigitArticle(string input)
    {
        var words = new List<string>();
        foreach (var raw in SplitWhitespace(input.ToLowerInvariant()))
        {
            var w = NumberWords.TryGetValue(raw, out var digit) ? digit : raw;
            if (!Articles.Contains(w)) words.Add(w);
        }
        for (int i = 0; i < words.Count; i++)
            if (VqaContractions.Table.TryGetValue(words[i], out var expanded)) words[i] = expanded;
        return string.Join(' ', words);
    }

    /// <summary>Python's <c>str.split()</c>: split on runs of whitespace, dropping empty pieces.</summary>
    internal static string[] SplitWhitespace(string s) =>
        s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
}
