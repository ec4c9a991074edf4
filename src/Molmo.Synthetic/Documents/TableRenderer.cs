using SkiaSharp;

namespace Molmo.Synthetic.Documents;

/// <summary>Draws a <see cref="TableSpec"/> in a 560×420 design space: title, header row, zebra or ruled rows; text shrinks to fit cells.</summary>
public static class TableRenderer
{
    const float DW = 560, DH = 420;

    public static void Draw(SKCanvas canvas, TableSpec t, int width, int height, SyntheticRandom rng)
    {
        canvas.Clear(SKColors.White);
        canvas.Save();
        canvas.Scale(width / DW, height / DH);
        bool serif = rng.Chance(0.3);
        var face = serif ? Typefaces.Serif : rng.Chance(0.2) ? Typefaces.Mono : Typefaces.Sans;
        var bold = serif ? Typefaces.SerifBold : Typefaces.SansBold;
        var headerColor = NamedColor.Hsv(rng.Uniform(0, 360), rng.Uniform(0.3, 0.7), rng.Uniform(0.35, 0.7));
        bool zebra = rng.Chance(0.6), grid = rng.Chance(0.5);
        using var ink = new SKPaint { IsAntialias = true, Color = new SKColor(25, 25, 25) };
        using var white = new SKPaint { IsAntialias = true, Color = SKColors.White };
        using var tf = new SKFont(bold, TextLayout.FitSize(t.Title, bold, 18, DW - 30));
        canvas.DrawText(t.Title, DW / 2, 30, SKTextAlign.Center, tf, ink);

        int nr = t.Rows.Length + 1, nc = t.Columns.Length;
        var area = new SKRect(15, 48, DW - 15, Math.Min(DH - 10, 48 + nr * 42));
        float rowH = area.Height / nr;
        using var measure = new SKFont(face, 13);
        var natural = Enumerable.Range(0, nc).Select(c => Math.Max(measure.MeasureText(t.Columns[c]), t.Rows.Max(r => measure.MeasureText(r[c]))) + 14).ToArray();
        float total = natural.Sum();
        var widths = natural.Select(x => x / total * area.Width).ToArray();
        float fontSize = Math.Min(13, rowH * 0.5f);
        for (int c = 0; c < nc; c++)
        {
            fontSize = Math.Min(fontSize, TextLayout.FitSize(t.Columns[c], bold, fontSize, widths[c] - 8));
            foreach (var r in t.Rows) fontSize = Math.Min(fontSize, TextLayout.FitSize(r[c], face, fontSize, widths[c] - 8));
        }
        using var cellFont = new SKFont(face, fontSize);
        using var headFont = new SKFont(bold, fontSize);
        using var hp = new SKPaint { Color = headerColor };
        using var zp = new SKPaint { Color = new SKColor(headerColor.Red, headerColor.Green, headerColor.Blue, 28) };
        using var line = new SKPaint { Color = new SKColor(170, 170, 170), StrokeWidth = 1 };
        canvas.DrawRect(area.Left, area.Top, area.Width, rowH, hp);
        for (int r = 0; r < nr; r++)
        {
            float y = area.Top + r * rowH;
            if (r > 0 && zebra && r % 2 == 0) canvas.DrawRect(area.Left, y, area.Width, rowH, zp);
            if (r > 0) canvas.DrawLine(area.Left, y, area.Right, y, line);
            float x = area.Left;
            for (int c = 0; c < nc; c++)
            {
                string text = r == 0 ? t.Columns[c] : t.Rows[r - 1][c];
                bool numeric = t.NumericColumns.Contains(c);
                float tx = numeric ? x + widths[c] - 6 : x + 6;
                canvas.DrawText(text, tx, y + rowH / 2 + fontSize * 0.36f, numeric ? SKTextAlign.Right : SKTextAlign.Left,
                    r == 0 ? headFont : cellFont, r == 0 ? white : ink);
                x += widths[c];
                if (grid && c < nc - 1) canvas.DrawLine(x, area.Top, x, area.Top + nr * rowH, line);
            }
        }
        using var border = new SKPaint { Color = new SKColor(120, 120, 120), StrokeWidth = 1.2f, Style = SKPaintStyle.Stroke };
        canvas.DrawRect(area.Left, area.Top, area.Width, nr * rowH, border);
        canvas.Restore();
    }
}
