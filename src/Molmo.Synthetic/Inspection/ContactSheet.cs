using SkiaSharp;

namespace Molmo.Synthetic.Inspection;

/// <summary>A grid of rows (image + points + first answer) for eyeballing a dataset.</summary>
public static class ContactSheet
{
    public static SKBitmap Render(IReadOnlyList<ImageRow> rows, int columns = 4, int cell = 320)
    {
        if (rows.Count == 0) throw new ArgumentException("no rows to draw", nameof(rows));
        const int captionLines = 3, lineH = 14;
        int cols = Math.Min(columns, rows.Count), rowsN = (rows.Count + cols - 1) / cols;
        int cellH = cell + captionLines * lineH + 8;
        var bmp = new SKBitmap(cols * cell + (cols + 1) * 6, rowsN * cellH + (rowsN + 1) * 6);
        using var canvas = new SKCanvas(bmp);
        canvas.Clear(new SKColor(235, 235, 235));
        using var font = new SKFont(Typefaces.Sans, 11);
        using var ink = new SKPaint { IsAntialias = true, Color = new SKColor(20, 20, 20) };
        for (int i = 0; i < rows.Count; i++)
        {
            float x0 = 6 + (i % cols) * (cell + 6), y0 = 6 + (i / cols) * (cellH + 6);
            using var image = ImageEncoding.Decode(rows[i].ImageBytes, $"row {rows[i].Index}");
            float s = Math.Min((float)cell / image.Width, (float)cell / image.Height);
            float w = image.Width * s, h = image.Height * s;
            RowAnnotator.DrawImageWithPoints(canvas, image, rows[i], new SKRect(x0 + (cell - w) / 2, y0 + (cell - h) / 2, x0 + (cell + w) / 2, y0 + (cell + h) / 2));
            string caption = rows[i].QuestionAnswers.Count > 0
                ? $"{rows[i].Index}: {rows[i].QuestionAnswers[0].Question} → {rows[i].QuestionAnswers[0].Answer}"
                : $"{rows[i].Index}";
            var lines = TextLayout.Wrap(caption, font, cell - 4);
            for (int l = 0; l < Math.Min(captionLines, lines.Count); l++)
            {
                var text = l == captionLines - 1 && lines.Count > captionLines ? TextLayout.Ellipsize(lines[l] + " …", font, cell - 4) : lines[l];
                canvas.DrawText(text, x0 + 2, y0 + cell + 12 + l * lineH, SKTextAlign.Left, font, ink);
            }
        }
        return bmp;
    }
}
