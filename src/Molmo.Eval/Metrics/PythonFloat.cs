using System.Globalization;

namespace Molmo.Eval.Metrics;

/// <summary>
/// Parses numbers the way Python's <c>float(str)</c> does, because the reference metrics rely on its
/// accept/reject behaviour: surrounding whitespace allowed, optional sign, digits with single underscores
/// between them, optional fraction and exponent, "inf"/"infinity"/"nan" in any case. Commas are rejected
/// ("1,000" is not a number).
/// </summary>
public static class PythonFloat
{
    public static bool TryParse(string text, out double value)
    {
        value = 0;
        var s = text.Trim();
        if (s.Length == 0) return false;
        var body = s[0] is '+' or '-' ? s[1..] : s;
        var lower = body.ToLowerInvariant();
        if (lower is "inf" or "infinity") { value = s[0] == '-' ? double.NegativeInfinity : double.PositiveInfinity; return true; }
        if (lower == "nan") { value = double.NaN; return true; }
        // Only ASCII digits, '.', 'e', signs after 'e' and underscores between digits.
        for (int i = 0; i < body.Length; i++)
        {
            char c = body[i];
            if (c == '_')
            {
                if (i == 0 || i == body.Length - 1 || !char.IsAsciiDigit(body[i - 1]) || !char.IsAsciiDigit(body[i + 1])) return false;
            }
            else if (!(char.IsAsciiDigit(c) || c is '.' or 'e' or 'E' or '+' or '-')) return false;
        }
        var cleaned = s.Replace("_", "");
        return double.TryParse(cleaned, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
            CultureInfo.InvariantCulture, out value);
    }
}
