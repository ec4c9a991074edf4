using System.Globalization;
using System.Text.RegularExpressions;

namespace Molmo.Eval.Metrics;

/// <summary>A point in pixels of the original image.</summary>
public readonly record struct PixelPoint(double X, double Y);

/// <summary>Reads points out of generated text (Molmo's <c>extract_points</c>) and checks the pointing output format.</summary>
public static partial class PointExtraction
{
    [GeneratedRegex(@"Click\(([0-9]+\.[0-9]), ?([0-9]+\.[0-9])\)")]
    private static partial Regex ClickPattern();

    [GeneratedRegex(@"\(([0-9]+\.[0-9]),? ?([0-9]+\.[0-9])\)")]
    private static partial Regex ParenPattern();

    [GeneratedRegex(@"x\d*=""\s*([0-9]+(?:\.[0-9]+)?)""\s+y\d*=""\s*([0-9]+(?:\.[0-9]+)?)""")]
    private static partial Regex AttributePattern();

    [GeneratedRegex(@"(?:\d+|p)\s*=\s*([0-9]{3})\s*,\s*([0-9]{3})")]
    private static partial Regex LegacyPattern();

    [GeneratedRegex(@"^<point\s[^>]*>(?:(?!</?point).)*</point>$", RegexOptions.Singleline)]
    private static partial Regex SinglePointTag();

    [GeneratedRegex(@"^<points\s[^>]*>(?:(?!</?points?[\s>]).)*</points>$", RegexOptions.Singleline)]
    private static partial Regex MultiPointTag();

    [GeneratedRegex(@"^\([0-9]+\.[0-9],? ?[0-9]+\.[0-9]\)$")]
    private static partial Regex CoordinateLine();

    /// <summary>
    /// All points in the text, in percent (0–100) of width and height: every <c>Click(x, y)</c>, every <c>(x, y)</c> with
    /// one-decimal numbers, every <c>x…="…" y…="…"</c> attribute pair, and legacy <c>p=ddd,ddd</c> / <c>N=ddd,ddd</c>
    /// (divided by 10), in that order (patterns are applied one after another, as in the reference, so a
    /// <c>Click(…)</c> is also found by the parenthesis pattern). Points with a coordinate above 100 are dropped.
    /// </summary>
    public static IReadOnlyList<(double X, double Y)> ExtractPercent(string? text)
    {
        var s = text ?? "";
        var result = new List<(double, double)>();
        void Add(double x, double y) { if (x <= 100 && y <= 100) result.Add((x, y)); }
        foreach (var re in new[] { ClickPattern(), ParenPattern(), AttributePattern() })
            foreach (Match m in re.Matches(s))
                Add(double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        foreach (Match m in LegacyPattern().Matches(s))
            Add(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) / 10.0, int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) / 10.0);
        return result;
    }

    /// <summary>Points converted from percent to pixels of an image of the given original size.</summary>
    public static IReadOnlyList<PixelPoint> ExtractPixels(string? text, int width, int height) =>
        ExtractPercent(text).Select(p => new PixelPoint(p.X / 100.0 * width, p.Y / 100.0 * height)).ToList();

    /// <summary>
    /// The format gate of the pointing metric: true iff the whole stripped output is one <c>&lt;point …&gt;…&lt;/point&gt;</c>,
    /// one <c>&lt;points …&gt;…&lt;/points&gt;</c>, or only lines of <c>(x, y)</c>. Any extra prose fails.
    /// </summary>
    public static bool IsPointingFormat(string? text)
    {
        var s = (text ?? "").Trim();
        if (s.Length == 0) return false;
        if (SinglePointTag().IsMatch(s) || MultiPointTag().IsMatch(s)) return true;
        var lines = s.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        return lines.Length > 0 && lines.All(l => CoordinateLine().IsMatch(l));
    }
}
