using System.Globalization;

namespace Molmo.Text;

/// <summary>
/// The GPT-2 pattern <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c> and the Qwen2
/// pattern <c>(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>,
/// alternative by alternative, in order, on code points.
/// </summary>
internal sealed class CodePointWordSplitter(bool qwen2) : WordSplitter
{
    enum Kind { Letter, Number, Space, NewLine, Other }

    public override void Split(string text, List<(int Start, int Length)> words)
    {
        int i = 0;
        while (i < text.Length)
        {
            int end = qwen2 ? MatchQwen2(text, i) : MatchGpt2(text, i);
            words.Add((i, end - i));
            i = end;
        }
    }

    int MatchQwen2(string s, int i)
    {
        if (s[i] == '\'' && Contraction(s, i, ignoreCase: true) is > 0 and var c) return i + c;
        var k0 = KindAt(s, i, out int l0);
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if (k0 == Kind.Letter) return SkipKind(s, i + l0, Kind.Letter);
        if (k0 is Kind.Other or Kind.Space && i + l0 < s.Length && KindAt(s, i + l0, out _) == Kind.Letter)
            return SkipKind(s, i + l0, Kind.Letter);
        // \p{N}
        if (k0 == Kind.Number) return i + l0;
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        int j = s[i] == ' ' ? i + 1 : i;
        if (j < s.Length && KindAt(s, j, out _) == Kind.Other)
        {
            j = SkipKind(s, j, Kind.Other);
            while (j < s.Length && s[j] is '\r' or '\n') j++;
            return j;
        }
        // \s*[\r\n]+ : a whitespace run up to and including its last line break.
        int runEnd = SkipWhitespace(s, i);
        for (int p = runEnd - 1; p >= i; p--)
            if (s[p] is '\r' or '\n') return p + 1;
        return TrailingWhitespace(s, i, runEnd);
    }

    int MatchGpt2(string s, int i)
    {
        if (s[i] == '\'' && Contraction(s, i, ignoreCase: false) is > 0 and var c) return i + c;
        // ' ?\p{L}+' | ' ?\p{N}+' | ' ?[^\s\p{L}\p{N}]+'
        int j = s[i] == ' ' ? i + 1 : i;
        if (j < s.Length)
        {
            var k = KindAt(s, j, out _);
            if (k is Kind.Letter or Kind.Number or Kind.Other) return SkipKind(s, j, k);
        }
        return TrailingWhitespace(s, i, SkipWhitespace(s, i));
    }

    // \s+(?!\S) | \s+ : a run followed by a non-space gives back its last character to the next word.
    static int TrailingWhitespace(string s, int start, int runEnd)
    {
        if (runEnd == s.Length) return runEnd;
        return runEnd - 1 > start ? runEnd - 1 : runEnd;
    }

    // 's 't 're 've 'm 'll 'd; returns the length matched or 0.
    static int Contraction(string s, int i, bool ignoreCase)
    {
        static bool Eq(char c, char lower, bool ignoreCase) =>
            c == lower || ignoreCase && (c == char.ToUpperInvariant(lower) || lower == 's' && c == '\u017F'); // ſ folds to s
        char a = i + 1 < s.Length ? s[i + 1] : '\0';
        char b = i + 2 < s.Length ? s[i + 2] : '\0';
        if (Eq(a, 's', ignoreCase) || Eq(a, 't', ignoreCase) || Eq(a, 'm', ignoreCase) || Eq(a, 'd', ignoreCase)) return 2;
        if (Eq(a, 'r', ignoreCase) && Eq(b, 'e', ignoreCase)) return 3;
        if (Eq(a, 'v', ignoreCase) && Eq(b, 'e', ignoreCase)) return 3;
        if (Eq(a, 'l', ignoreCase) && Eq(b, 'l', ignoreCase)) return 3;
        return 0;
    }

    static int SkipKind(string s, int i, Kind kind)
    {
        while (i < s.Length && KindAt(s, i, out int len) == kind) i += len;
        return i;
    }

    static int SkipWhitespace(string s, int i)
    {
        while (i < s.Length && KindAt(s, i, out int len) is Kind.Space or Kind.NewLine) i += len;
        return i;
    }

    static Kind KindAt(string s, int i, out int length)
    {
        char c = s[i];
        UnicodeCategory category;
        if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
        {
            length = 2;
            category = CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(c, s[i + 1]));
        }
        else
        {
            length = 1;
            if (c is '\r' or '\n') return Kind.NewLine;
            if (char.IsWhiteSpace(c)) return Kind.Space; // = Unicode White_Space, like \s
            category = CharUnicodeInfo.GetUnicodeCategory(c);
        }
        return category switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => Kind.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => Kind.Number,
            _ => Kind.Other,
        };
    }
}
