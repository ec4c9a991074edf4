using System.Globalization;
using System.Text;

namespace Molmo.Text.Normalization;

/// <summary>
/// Unicode Normalization Form C (canonical decomposition, canonical ordering, canonical composition; UAX #15).
/// Molmo's Qwen2 and GPT-NeoX tokenizers apply NFC before pre-tokenisation. .NET's <see cref="string.Normalize()"/> is a
/// no-op under InvariantGlobalization (this repository's default), so the tables come from <see cref="NfcData"/>.
/// Lone surrogates pass through unchanged.
/// </summary>
public static class NfcNormalizer
{
    const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    sealed class Tables
    {
        public readonly Dictionary<int, byte> Ccc = new();
        public readonly Dictionary<int, int[]> FullDecomposition = new();
        public readonly Dictionary<long, int> Composition = new();
    }

    static readonly Lazy<Tables> _tables = new(BuildTables, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The Unicode version of the tables.</summary>
    public static string UnicodeVersion => NfcData.UnicodeVersion;

    /// <summary>Returns the NFC form of <paramref name="text"/> (the same instance when it is already NFC).</summary>
    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        // Everything below U+0300 is NFC_QC=Yes and never combines with a following character below U+0300.
        int i = 0;
        while (i < text.Length && text[i] < '\u0300') i++;
        if (i == text.Length) return text;

        var t = _tables.Value;
        var cps = new List<int>(text.Length + 8);
        for (int k = 0; k < text.Length; k++)
        {
            int cp = text[k];
            if (char.IsHighSurrogate(text[k]) && k + 1 < text.Length && char.IsLowSurrogate(text[k + 1]))
            {
                cp = char.ConvertToUtf32(text[k], text[k + 1]);
                k++;
            }
            Decompose(t, cp, cps);
        }
        ReorderCanonically(t, cps);
        Compose(t, cps);

        var sb = new StringBuilder(text.Length);
        foreach (int cp in cps)
        {
            if (cp is >= 0xD800 and <= 0xDFFF) sb.Append((char)cp); // lone surrogate kept as is
            else sb.Append(new Rune(cp));
        }
        var result = sb.ToString();
        return string.Equals(result, text, StringComparison.Ordinal) ? text : result;
    }

    static void Decompose(Tables t, int cp, List<int> output)
    {
        int s = cp - SBase;
        if (s is >= 0 and < SCount)
        {
            output.Add(LBase + s / NCount);
            output.Add(VBase + s % NCount / TCount);
            if (s % TCount != 0) output.Add(TBase + s % TCount);
            return;
        }
        if (t.FullDecomposition.TryGetValue(cp, out var d)) output.AddRange(d);
        else output.Add(cp);
    }

    static int Ccc(Tables t, int cp) => t.Ccc.TryGetValue(cp, out var c) ? c : 0;

    // Stable insertion sort of each run of non-starters by combining class.
    static void ReorderCanonically(Tables t, List<int> cps)
    {
        for (int i = 1; i < cps.Count; i++)
        {
            int c = Ccc(t, cps[i]);
            if (c == 0) continue;
            int j = i;
            int cp = cps[i];
            while (j > 0)
            {
                int prev = Ccc(t, cps[j - 1]);
                if (prev == 0 || prev <= c) break;
                cps[j] = cps[j - 1];
                j--;
            }
            cps[j] = cp;
        }
    }

    static void Compose(Tables t, List<int> cps)
    {
        int write = 0;
        int starter = -1;     // index (in the output part) of the last starter
        int lastClass = -1;   // class of the last character kept after that starter; -1 = none (adjacent)
        for (int read = 0; read < cps.Count; read++)
        {
            int cp = cps[read];
            int cc = Ccc(t, cp);
            if (starter >= 0 && !(lastClass != -1 && lastClass >= cc) && TryCompose(t, cps[starter], cp, out int composite))
            {
                cps[starter] = composite;
                continue;
            }
            if (cc == 0) { starter = write; lastClass = -1; }
            else lastClass = cc;
            cps[write++] = cp;
        }
        cps.RemoveRange(write, cps.Count - write);
    }

    static bool TryCompose(Tables t, int first, int second, out int composite)
    {
        int l = first - LBase, v = second - VBase;
        if (l is >= 0 and < LCount && v is >= 0 and < VCount)
        {
            composite = SBase + (l * VCount + v) * TCount;
            return true;
        }
        int s = first - SBase, tt = second - TBase;
        if (s is >= 0 and < SCount && s % TCount == 0 && tt is > 0 and < TCount)
        {
            composite = first + tt;
            return true;
        }
        return t.Composition.TryGetValue(((long)first << 21) | (uint)second, out composite);
    }

    static Tables BuildTables()
    {
        var t = new Tables();
        foreach (var entry in NfcData.CombiningClasses.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            int colon = entry.IndexOf(':');
            var range = entry.AsSpan(0, colon);
            byte cls = byte.Parse(entry.AsSpan(colon + 1), CultureInfo.InvariantCulture);
            int dash = range.IndexOf('-');
            int start = Hex(dash < 0 ? range : range[..dash]);
            int end = dash < 0 ? start : Hex(range[(dash + 1)..]);
            for (int cp = start; cp <= end; cp++) t.Ccc[cp] = cls;
        }

        var single = new Dictionary<int, int[]>();
        foreach (var entry in NfcData.Decompositions.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            int sep = entry.IndexOfAny(['>', '=']);
            int cp = Hex(entry.AsSpan(0, sep));
            var parts = entry[(sep + 1)..].Split(' ');
            var d = new int[parts.Length];
            for (int k = 0; k < parts.Length; k++) d[k] = Hex(parts[k]);
            single[cp] = d;
            if (entry[sep] == '>') t.Composition[((long)d[0] << 21) | (uint)d[1]] = cp;
        }
        foreach (var cp in single.Keys)
        {
            var full = new List<int>();
            Expand(single, cp, full);
            t.FullDecomposition[cp] = full.ToArray();
        }
        return t;
    }

    static void Expand(Dictionary<int, int[]> single, int cp, List<int> output)
    {
        if (single.TryGetValue(cp, out var d))
            foreach (var c in d) Expand(single, c, output);
        else output.Add(cp);
    }

    static int Hex(ReadOnlySpan<char> s) => int.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}
