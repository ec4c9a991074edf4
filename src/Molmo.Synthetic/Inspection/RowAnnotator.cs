using System.Globalization;
using System.Text.RegularExpressions;
using SkiaSharp;

namespace Molmo.Synthetic.Inspection;

/// <summary>
/// Draws a row for a person to check: the image with its points (from the <c>points</c> column and from point tags in the
/// answers) and, under it, the questions, answers and other fields.
/// </summary>
public static partial class RowAnnotator
{
    [GeneratedRegex("x\\d*=\"\\s*([0-9]+(?:\\.[0-9]+)?)\"\\s+y\\d*=\"\\s*([0-9]+(?:\\.[0-9]+)?)\"")]
    private static partial Regex PointAttr();

    /// <summary>Points written in Molmo point tags inside <paramref name="text"/> (percent).</summary>
    public static List<(double X, double Y)> PointsInText(string text) =>
        PointAttr().Matches(text).Select(m => (double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),
            double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture))).ToList();

    /// <summary>All points of a row in pixels of the decoded image. Column points above 100 are taken as pixels, others as percent.</summary>
    public static List<SKPoint> PixelPoints(ImageRow row, int width, int height)
    {
        var result = new List<SKPoint>();
        bool pixels = row.Points.Any(p => p.X > 100 || p.Y > 100);
        foreach (var (x, y) in row.Points)
            result.Add(pixels ? new SKPoint((float)x, (float)y) : new SKPoint((float)(x / 100 * width), (float)(y / 100 * height)));
        foreach (var (_, a) in row.QuestionAnswers)
            foreach (var (x, y) in PointsInText(a))
            {
                var p = new SKPoint((float)(x / 100 * width), (float)(y / 100 * height));
                if (!result.Any(q => SKPoint.Distance(q, p) < 1.5f)) result.Add(p);
            }
        return result;
    }

    /// <summary>Draws <paramref name="image"/> scaled into <paramref name="dest"/> with the row's points on top.</summary>
    public static void DrawImageWithPoints(SKCanvas canvas, SKBitmap image, ImageRow row, SKRect dest)
    {
        using var img = SKImage.FromBitmap(image);
        canvas.DrawImage(img, dest, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        float s = dest.Width / image.Width;
        float r = Math.Clamp(dest.Width / 80f, 3f, 8f);
        using var fill = new SKPaint { IsAntialias = true, Color = new SKColor(255, 0, 200) };
        using var ring = new SKPaint { IsAntialias = true, Color = SKColors.White, Style = SKPaintStyle.Stroke, StrokeWidth = Math.Max(1.5f, r / 3) };
        foreach (var p in PixelPoints(row, image.Width, image.Height))
        {
            var q = new SKPoint(dest.Left + p.X * s, dest.Top + p.Y * s);
            canvas.DrawCircle(q, r, fill);
            canvas.DrawCircle(q, r, ring);
        }
    }

    /// <summary>The full inspection picture for one row: image (at most <paramref name="width"/> px wide) and its text.</summary>
    public static SKBitmap Render(ImageRow row, int width = 768)
    {
        using var image = ImageEncoding.Decode(row.ImageBytes, $"row {row.Index}");
        float scale = Math.Min((float)width / image.Width, (float)width / image.Height);
        int iw = Math.Max(1, (int)(image.Width * scale)), ih = Math.Max(1, (int)(image.Height * scale));
        using var font = new SKFont(Typefaces.Sans, 14);
        using var bold = new SKFont(Typefaces.SansBold, 14);
        var lines = new List<(string Text, bool Bold)>
        {
            ($"row {row.Index}  ·  {image.Width}×{image.Height} px  ·  {RowAnnotator.PixelPoints(row, image.Width, image.Height).Count} points", true),
        };
        foreach (var (q, a) in row.QuestionAnswers)
        {
            foreach (var l in TextLayout.Wrap("Q: " + q, bold, width - 16)) lines.Add((l, true));
            foreach (var l in TextLayout.Wrap("A: " + a, font, width - 16)) lines.Add((l, false));
        }
        var fieldText = string.Join("  ", row.Fields.Where(f => f.Value.Length is > 0 and < 120).Select(f => $"{f.Name}={f.Value}"));
        foreach (var l in TextLayout.Wrap(fieldText, font, width - 16)) lines.Add((l, false));
        int textH = 10 + lines.Count * 18 + 6;
        int canvasW = Math.Max(width, iw);
        var bmp = new SKBitmap(canvasW, ih + textH);
        using var canvas = new SKCanvas(bmp);
        canvas.Clear(SKColors.White);
        DrawImageWithPoints(canvas, image, row, new SKRect(0, 0, iw, ih));
        using var ink = new SKPaint { IsAntialias = true, Color = new SKColor(20, 20, 20) };
        float y = ih + 22;
        foreach (var (text, isBold) in lines)
        {
            canvas.DrawText(text, 8, y, SKTextAlign.Left, isBold ? bold : font, ink);
            y += 18;
        }
        return bmp;
    }
}
