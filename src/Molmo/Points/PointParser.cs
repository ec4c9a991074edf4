using System.Globalization;
using System.Text.RegularExpressions;

namespace Molmo.Points;

/// <summary>A point the model produced: percent coordinates (0–100 of the original image), its label and inline text.</summary>
public sealed record MolmoPoint(double XPercent, double YPercent, string? Alt, string? Text, int Index)
{
    /// <summary>Pixel coordinates in the original image: x = X/100·W, y = Y/100·H (spec §7).</summary>
    public (double X, double Y) ToPixels(int width, int height) => (XPercent / 100.0 * width, YPercent / 100.0 * height);
}

/// <summary>
/// Parses Molmo's point answers (spec §7): <c>&lt;point x="…" y="…" alt="…"&gt;text&lt;/point&gt;</c>,
/// <c>&lt;points x1="…" y1="…" x2="…" … alt="…"&gt;text&lt;/points&gt;</c>, and the legacy forms <c>Click(x, y)</c>,
/// <c>(x, y)</c> and <c>p=xxx,yyy</c> (tenths of a percent). Coordinates outside 0–100 are dropped as invalid.
/// </summary>
public static partial class PointParser
{
    [GeneratedRegex("""<points?\b([^>]*)>(.*?)</points?>""", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex TagRegex();

    [GeneratedRegex(@"([A-Za-z_]+)(\d*)\s*=\s*""([^""]*)""")]
    private static partial Regex AttrRegex();

    [GeneratedRegex("""Click\((\d+(?:\.\d+)?),\s?(\d+(?:\.\d+)?)\)""")]
    private static partial Regex ClickRegex();

    [GeneratedRegex("""\((\d+\.\d),\s?(\d+\.\d)\)""")]
    private static partial Regex PairRegex();

    [GeneratedRegex("""(?:\d+|p)\s*=\s*(\d{3})\s*,\s*(\d{3})""")]
    private static partial Regex LegacyRegex();

    /// <summary>All valid points in <paramref name="text"/>, in order of appearance.</summary>
    public static IReadOnlyList<MolmoPoint> Parse(string text)
    {
        var points = new List<MolmoPoint>();
        var tags = TagRegex().Matches(text);
        foreach (Match tag in tags)
        {
            var xs = new SortedDictionary<int, double>();
            var ys = new SortedDictionary<int, double>();
            string? alt = null;
            foreach (Match a in AttrRegex().Matches(tag.Groups[1].Value))
            {
                var key = a.Groups[1].Value.ToLowerInvariant();
                int idx = a.Groups[2].Value.Length == 0 ? 0 : int.Parse(a.Groups[2].Value, CultureInfo.InvariantCulture);
                var val = a.Groups[3].Value;
                if (key == "alt") { alt = System.Net.WebUtility.HtmlDecode(val); continue; }
                if (!double.TryParse(val.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var num)) continue;
                if (key == "x") xs[idx] = num;
                else if (key == "y") ys[idx] = num;
            }
            var inner = System.Net.WebUtility.HtmlDecode(tag.Groups[2].Value).Trim();
            foreach (var (i, x) in xs)
                if (ys.TryGetValue(i, out var y) && Valid(x, y))
                    points.Add(new MolmoPoint(x, y, alt, inner.Length > 0 ? inner : null, points.Count));
        }
        if (tags.Count > 0) return points;

        // Legacy forms, only when there are no tags.
        foreach (var re in new[] { ClickRegex(), PairRegex() })
        {
            foreach (Match m in re.Matches(text))
                AddIfValid(points, double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
            if (points.Count > 0) return points;
        }
        foreach (Match m in LegacyRegex().Matches(text))
            AddIfValid(points, int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) / 10.0, int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) / 10.0);
        return points;
    }

    static void AddIfValid(List<MolmoPoint> points, double x, double y)
    {
        if (Valid(x, y)) points.Add(new MolmoPoint(x, y, null, null, points.Count));
    }

    static bool Valid(double x, double y) => x is >= 0 and <= 100 && y is >= 0 and <= 100 && !double.IsNaN(x) && !double.IsNaN(y);

    /// <summary>The answer with point tags replaced by their inline text (what a person reads).</summary>
    public static string StripTags(string text) => TagRegex().Replace(text, m => m.Groups[2].Value);

    static readonly string[] NumberWords =
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"];

    [GeneratedRegex("""a total of (\d+)""", RegexOptions.IgnoreCase)]
    private static partial Regex TotalRegex();

    [GeneratedRegex("""\b(?:there (?:are|is) none|there are no|there is no|none)\b""", RegexOptions.IgnoreCase)]
    private static partial Regex NoneRegex();

    /// <summary>
    /// The count a counting answer states: "… shows a total of N.", a final integer or number word ("… are three."), or 0 for
    /// "There are none." (the training target for zero objects). Null when no count can be read.
    /// </summary>
    public static int? ExtractCount(string answer)
    {
        var text = StripTags(answer).Trim().TrimEnd('.', '!', ' ').ToLowerInvariant();
        if (text.Length == 0) return null;
        var total = TotalRegex().Match(text);
        if (total.Success && int.TryParse(total.Groups[1].Value, CultureInfo.InvariantCulture, out var t)) return t;
        var last = text.Split([' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries)[^1].Trim(',', ';', ':');
        if (int.TryParse(last, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0) return n;
        int w = Array.IndexOf(NumberWords, last);
        if (w >= 0) return w;
        if (NoneRegex().IsMatch(text)) return 0;
        return null;
    }
}
