using System.Globalization;
using System.Text;
using Molmo.Data.Datasets;

namespace Molmo.Data.Formats;

/// <summary>
/// Molmo's text format for points (molmo-spec §7, pixmo-data-and-eval.md §3.4), usable by any data generator.
/// Points are percent (0–100) of the original image width (x) and height (y).
/// <list type="bullet">
/// <item>one point: <c>&lt;point x="12.3" y="45.6" alt="ALT"&gt;TEXT&lt;/point&gt;</c></item>
/// <item>several: <c>&lt;points x1="…" y1="…" x2="…" y2="…" alt="ALT"&gt;TEXT&lt;/points&gt;</c>, numbered from 1</item>
/// </list>
/// Points are ordered by the reference's key x·10000 + y (left to right, then top to bottom for equal x); coordinates are
/// rounded like <c>np.round(v, 1)</c> (half to even on v·10) and printed with one decimal. Labels are not escaped, as in the reference.
/// </summary>
public static class PointFormatter
{
    /// <summary>The training answer when the target is absent (count 0).</summary>
    public const string NotPresentAnswer = "There are none.";

    /// <summary>The point tag(s) for non-empty <paramref name="percentPoints"/>; <paramref name="alt"/> defaults to the text.</summary>
    public static string FormatPoints(IReadOnlyList<PixmoPoint> percentPoints, string text, string? alt = null)
    {
        if (percentPoints.Count == 0)
            throw new ArgumentException($"no points to format for '{text}'; use {nameof(NotPresentAnswer)} for an absent target", nameof(percentPoints));
        alt ??= text;
        var sorted = Sort(percentPoints);
        var sb = new StringBuilder();
        if (sorted.Count == 1)
        {
            sb.Append("<point x=\"").Append(Coordinate(sorted[0].X)).Append("\" y=\"").Append(Coordinate(sorted[0].Y)).Append('"');
            sb.Append(" alt=\"").Append(alt).Append("\">").Append(text).Append("</point>");
            return sb.ToString();
        }
        sb.Append("<points");
        for (int i = 0; i < sorted.Count; i++)
            sb.Append(" x").Append(i + 1).Append("=\"").Append(Coordinate(sorted[i].X)).Append('"')
              .Append(" y").Append(i + 1).Append("=\"").Append(Coordinate(sorted[i].Y)).Append('"');
        sb.Append(" alt=\"").Append(alt).Append("\">").Append(text).Append("</points>");
        return sb.ToString();
    }

    /// <summary>The answer of a pointing example: the tag(s), or <see cref="NotPresentAnswer"/> when there are no points.</summary>
    public static string PointingAnswer(IReadOnlyList<PixmoPoint> percentPoints, string label) =>
        percentPoints.Count == 0 ? NotPresentAnswer : FormatPoints(percentPoints, label);

    /// <summary>The answer of a point-then-count example: <c>Counting the &lt;points …&gt;label&lt;/points&gt; shows a total of N.</c></summary>
    public static string CountingAnswer(IReadOnlyList<PixmoPoint> percentPoints, string label) =>
        percentPoints.Count == 0
            ? NotPresentAnswer
            : $"Counting the {FormatPoints(percentPoints, label)} shows a total of {percentPoints.Count.ToString(CultureInfo.InvariantCulture)}.";

    /// <summary>Points in the reference's output order (stable sort on x·10000 + y).</summary>
    public static IReadOnlyList<PixmoPoint> Sort(IReadOnlyList<PixmoPoint> points) =>
        points.Select((p, i) => (p, i)).OrderBy(t => t.p.X * 10000 + t.p.Y).ThenBy(t => t.i).Select(t => t.p).ToList();

    /// <summary>One coordinate as printed: <c>np.round(v, 1)</c> then <c>%.1f</c>.</summary>
    public static string Coordinate(double value)
    {
        if (!double.IsFinite(value)) throw new ArgumentOutOfRangeException(nameof(value), value, "point coordinates must be finite");
        // np.round(v, 1) computes rint(v * 10) / 10; printing that with one decimal gives exactly the tenths counted here.
        long tenths = (long)Math.Round(value * 10, MidpointRounding.ToEven);
        var sign = tenths < 0 ? "-" : "";
        long abs = Math.Abs(tenths);
        return string.Create(CultureInfo.InvariantCulture, $"{sign}{abs / 10}.{abs % 10}");
    }

    /// <summary>
    /// Point explanations: replaces each <c>&lt;|POINT|&gt;</c> in <paramref name="parsedResponse"/>, in order, by a point tag built from
    /// annotation k (its points, inline text as the tag body, alt text as <c>alt</c>).
    /// </summary>
    public static string ExplainPoints(string parsedResponse, IReadOnlyList<IReadOnlyList<PixmoPoint>> points,
        IReadOnlyList<string> inlineText, IReadOnlyList<string> altText)
    {
        const string placeholder = PixmoPointExplanationsRow.Placeholder;
        var pieces = parsedResponse.Split(placeholder);
        int slots = pieces.Length - 1;
        if (slots != points.Count || slots != inlineText.Count || slots != altText.Count)
            throw new ArgumentException(
                $"response has {slots} {placeholder} placeholders but {points.Count} point lists, {inlineText.Count} inline texts and {altText.Count} alt texts");
        var sb = new StringBuilder(pieces[0]);
        for (int k = 0; k < slots; k++)
        {
            // An annotation without points keeps its inline text, so the sentence still reads.
            sb.Append(points[k].Count == 0 ? inlineText[k] : FormatPoints(points[k], inlineText[k], altText[k]));
            sb.Append(pieces[k + 1]);
        }
        return sb.ToString();
    }
}
