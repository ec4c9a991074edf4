using SkiaSharp;

namespace Molmo.Eval.Reporting;

/// <summary>Draws a run's scores (main score and sub-scores) beside the published figures as a horizontal bar chart PNG.</summary>
public static class ScoreChart
{
    public const int Width = 900;
    const int RowHeight = 30, Top = 60, Left = 330, Right = 70, Bottom = 40;

    /// <summary>The bars: (label, value 0–100, whether it is a published figure).</summary>
    public static IReadOnlyList<(string Label, double Value, bool Published)> Bars(RunReport r)
    {
        var bars = new List<(string, double, bool)> { ($"{r.ModelName}: score ({r.Summary.Metric})", r.Summary.Score, false) };
        foreach (var (k, v) in r.Summary.SubScores.Take(16)) bars.Add(($"{r.ModelName}: {k}", v, false));
        foreach (var p in r.Published.Where(p => p.Value is >= 0 and <= 100))
            bars.Add(($"paper T{p.Table} {p.Model}: {p.Metric}", p.Value, true));
        return bars;
    }

    public static void Render(RunReport r, string path)
    {
        var bars = Bars(r);
        int height = Top + bars.Count * RowHeight + Bottom;
        using var surface = SKSurface.Create(new SKImageInfo(Width, height, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException("cannot create a drawing surface for the chart");
        var c = surface.Canvas;
        c.Clear(SKColors.White);
        using var typeface = SKTypeface.FromFamilyName("sans-serif") ?? SKTypeface.Default;
        using var title = new SKFont(typeface, 18);
        using var font = new SKFont(typeface, 13);
        using var text = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var grid = new SKPaint { Color = new SKColor(220, 220, 220), StrokeWidth = 1 };
        using var ours = new SKPaint { Color = new SKColor(31, 119, 180), IsAntialias = true };
        using var theirs = new SKPaint { Color = new SKColor(255, 127, 14), IsAntialias = true };

        c.DrawText($"{r.Task.Name}: {r.ModelName} ({r.Summary.Items} items)", 12, 30, SKTextAlign.Left, title, text);
        float plotW = Width - Left - Right;
        for (int g = 0; g <= 100; g += 20)
        {
            float x = Left + plotW * g / 100f;
            c.DrawLine(x, Top - 8, x, Top + bars.Count * RowHeight, grid);
            c.DrawText(g.ToString(System.Globalization.CultureInfo.InvariantCulture), x, Top + bars.Count * RowHeight + 18, SKTextAlign.Center, font, text);
        }
        for (int i = 0; i < bars.Count; i++)
        {
            var (label, value, published) = bars[i];
            float y = Top + i * RowHeight;
            var shown = label.Length > 44 ? label[..41] + "..." : label;
            c.DrawText(shown, Left - 8, y + RowHeight * 0.65f, SKTextAlign.Right, font, text);
            float w = plotW * (float)Math.Clamp(value, 0, 100) / 100f;
            c.DrawRect(new SKRect(Left, y + 5, Left + w, y + RowHeight - 5), published ? theirs : ours);
            c.DrawText(value.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture), Left + w + 6, y + RowHeight * 0.65f,
                SKTextAlign.Left, font, text);
        }
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        using var fs = File.Create(path);
        png.SaveTo(fs);
    }
}
