using SkiaSharp;

namespace Molmo.Synthetic;

/// <summary>Greedy word wrapping and fitting text into a width.</summary>
public static class TextLayout
{
    public static List<string> Wrap(string text, SKFont font, float maxWidth)
    {
        var lines = new List<string>();
        foreach (var para in text.Split('\n'))
        {
            var line = "";
            foreach (var word in para.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var candidate = line.Length == 0 ? word : line + " " + word;
                if (font.MeasureText(candidate) <= maxWidth || line.Length == 0)
                {
                    line = candidate;
                    // A single word wider than the line is cut by characters.
                    while (font.MeasureText(line) > maxWidth && line.Length > 1)
                    {
                        int cut = line.Length - 1;
                        while (cut > 1 && font.MeasureText(line[..cut]) > maxWidth) cut--;
                        lines.Add(line[..cut]);
                        line = line[cut..];
                    }
                }
                else
                {
                    lines.Add(line);
                    line = word;
                }
            }
            lines.Add(line);
        }
        return lines;
    }

    /// <summary>The text shortened with "…" so it fits <paramref name="maxWidth"/>.</summary>
    public static string Ellipsize(string text, SKFont font, float maxWidth)
    {
        if (font.MeasureText(text) <= maxWidth) return text;
        int n = text.Length;
        while (n > 0 && font.MeasureText(text[..n] + "…") > maxWidth) n--;
        return text[..n] + "…";
    }

    /// <summary>Largest font size ≤ <paramref name="size"/> at which <paramref name="text"/> fits <paramref name="maxWidth"/>.</summary>
    public static float FitSize(string text, SKTypeface face, float size, float maxWidth, float minSize = 4f)
    {
        using var font = new SKFont(face, size);
        float w = font.MeasureText(text);
        return w <= maxWidth ? size : Math.Max(minSize, size * maxWidth / w);
    }
}
