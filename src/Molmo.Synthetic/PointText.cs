using System.Globalization;
using System.Text;

namespace Molmo.Synthetic;

/// <summary>A point in percent (0–100) of the image width (X) and height (Y), as in PixMo-Points.</summary>
public readonly record struct PercentPoint(double X, double Y);

/// <summary>
/// Molmo's point/count answer text (molmo-spec §7, pixmo-data-and-eval §3.4): coordinates in percent with one decimal, points
/// sorted by x then y (key x·10000 + y), <c>&lt;point&gt;</c> for one point and <c>&lt;points&gt;</c> with 1-based attributes
/// for several. Kept in this one file so it can be swapped for the shared training formatter.
/// </summary>
public static class PointText
{
    public const string NoneAnswer = "There are none.";

    /// <summary>Points in the order the reference prints them (x·10000 + y ascending).</summary>
    public static IReadOnlyList<PercentPoint> Sorted(IEnumerable<PercentPoint> points) =>
        points.OrderBy(p => p.X * 10000 + p.Y).ToList();

    static string F(double v) => v.ToString("0.0", CultureInfo.InvariantCulture);

    /// <summary><c>&lt;point x=".." y=".." alt="alt"&gt;text&lt;/point&gt;</c> or the <c>&lt;points x1=..&gt;</c> form; "There are none." when empty.</summary>
    public static string Points(IEnumerable<PercentPoint> points, string text, string? alt = null)
    {
        var sorted = Sorted(points);
        alt ??= text;
        if (sorted.Count == 0) return NoneAnswer;
        if (sorted.Count == 1)
            return $"<point x=\"{F(sorted[0].X)}\" y=\"{F(sorted[0].Y)}\" alt=\"{alt}\">{text}</point>";
        var sb = new StringBuilder("<points");
        for (int i = 0; i < sorted.Count; i++)
            sb.Append($" x{i + 1}=\"{F(sorted[i].X)}\" y{i + 1}=\"{F(sorted[i].Y)}\"");
        sb.Append($" alt=\"{alt}\">{text}</points>");
        return sb.ToString();
    }

    /// <summary>The point_count answer: "Counting the &lt;points …&gt;label&lt;/points&gt; shows a total of N."; "There are none." for zero.</summary>
    public static string Count(IEnumerable<PercentPoint> points, string label)
    {
        var list = points.ToList();
        return list.Count == 0 ? NoneAnswer : $"Counting the {Points(list, label)} shows a total of {list.Count}.";
    }
}
