using System.Globalization;
using System.Text.RegularExpressions;

namespace Molmo.Text;

/// <summary>
/// Splits normalised text into the words that BPE encodes separately (the pre-tokenizer regex). The GPT-2 and Qwen2
/// patterns are implemented as hand-written scanners over code points: a .NET regex sees UTF-16 units, so a letter,
/// digit or emoji outside the BMP would be two surrogates of category Cs instead of one \p{L}/\p{N}/\p{So}, and
/// the split would differ from the reference (Rust / Python regex on code points). Any other pattern from a
/// tokenizer.json runs as a .NET regex, with that caveat.
/// </summary>
internal abstract class WordSplitter
{
    /// <summary>Appends (start, length) of each word of <paramref name="text"/> to <paramref name="words"/>.</summary>
    public abstract void Split(string text, List<(int Start, int Length)> words);

    public static WordSplitter For(string pattern) => pattern switch
    {
        PreTokenizerPatterns.Qwen2 => new CodePointWordSplitter(qwen2: true),
        PreTokenizerPatterns.Gpt2 => new CodePointWordSplitter(qwen2: false),
        _ => new RegexWordSplitter(pattern),
    };

    sealed class RegexWordSplitter(string pattern) : WordSplitter
    {
        readonly Regex _regex = new(pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled);

        public override void Split(string text, List<(int Start, int Length)> words)
        {
            foreach (var m in _regex.EnumerateMatches(text)) words.Add((m.Index, m.Length));
        }
    }
}
