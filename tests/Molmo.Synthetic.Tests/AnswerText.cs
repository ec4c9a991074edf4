using System.Globalization;
using System.Text.RegularExpressions;

namespace Molmo.Synthetic.Tests;

/// <summary>Test-side parsing of Molmo point answers (independent of the library's formatter).</summary>
static class AnswerText
{
    public static List<(double X, double Y)> Points(string answer) =>
        Regex.Matches(answer, "x(\\d*)=\"([0-9.]+)\" y(\\d*)=\"([0-9.]+)\"")
            .Select(m => (double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), double.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture)))
            .ToList();

    public static string OneDecimal(double v) => (Math.Round(v * 10, MidpointRounding.ToEven) / 10).ToString("0.0", CultureInfo.InvariantCulture);
}
