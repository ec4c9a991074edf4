using SkiaSharp;

namespace Molmo.Synthetic.Charts;

/// <summary>
/// Draws a <see cref="ChartSpec"/>. Layout happens in a 560×420 design space scaled to the image. Every value a question asks
/// about is printed on the chart (bar/point labels, pie percentages), and labels are shrunk to fit their slot, never clipped.
/// </summary>
public static class ChartRenderer
{
    const float DW = 560, DH = 420;

    static readonly SKColor[][] Palettes =
    [
        [new(31, 119, 180), new(255, 127, 14), new(44, 160, 44), new(214, 39, 40), new(148, 103, 189), new(140, 86, 75), new(227, 119, 194)],
        [new(76, 114, 176), new(221, 132, 82), new(85, 168, 104), new(196, 78, 82), new(129, 114, 179), new(147, 120, 96), new(218, 139, 195)],
        [new(0, 63, 92), new(88, 80, 141), new(188, 80, 144), new(255, 99, 97), new(255, 166, 0), new(122, 81, 149), new(47, 75, 124)],
        [new(27, 158, 119), new(217, 95, 2), new(117, 112, 179), new(231, 41, 138), new(102, 166, 30), new(230, 171, 2), new(166, 118, 29)],
        [new(69, 117, 180), new(116, 173, 209), new(244, 109, 67), new(215, 48, 39), new(253, 174, 97), new(171, 217, 233), new(49, 54, 149)],
    ];

    sealed record Style(SKColor[] Palette, SKTypeface Face, SKTypeface Bold, SKColor Background, SKColor Ink, bool Grid);

    public static void Draw(SKCanvas canvas, ChartSpec spec, int width, int height, SyntheticRandom rng)
    {
        bool serif = rng.Chance(0.25);
        var style = new Style(rng.Pick(Palettes), serif ? Typefaces.Serif : rng.Chance(0.3) ? Typefaces.SansCondensed : Typefaces.Sans,
            serif ? Typefaces.SerifBold : Typefaces.SansBold,
            rng.Chance(0.7) ? SKColors.White : NamedColor.Hsv(rng.Uniform(0, 360), rng.Uniform(0, 0.08), rng.Uniform(0.94, 0.99)),
            new SKColor(30, 30, 30), rng.Chance(0.7));
        canvas.Clear(style.Background);
        canvas.Save();
        canvas.Scale(width / DW, height / DH);
        using var titleFont = new SKFont(style.Bold, TextLayout.FitSize(spec.Title, style.Bold, 18, DW - 30));
        using var ink = new SKPaint { IsAntialias = true, Color = style.Ink };
        canvas.DrawText(spec.Title, DW / 2, 28, SKTextAlign.Center, titleFont, ink);
        var plot = PlotRect(spec);
        switch (spec.Kind)
        {
            case ChartKind.Pie: DrawPie(canvas, spec, style); break;
            case ChartKind.Scatter: DrawScatter(canvas, spec, style, plot); break;
            case ChartKind.HorizontalBar: DrawHorizontalBars(canvas, spec, style); break;
            default: DrawCategorical(canvas, spec, style, plot); break;
        }
        canvas.Restore();
    }

    /// <summary>Design-space size; the image is this scaled by width / 560 (both axes).</summary>
    public const float DesignWidth = DW, DesignHeight = DH;

    /// <summary>The plot area (axes box) of vertical bar, grouped bar, line and scatter charts in design units.</summary>
    public static SKRect PlotRect(ChartSpec spec)
    {
        var plot = new SKRect(70, 50, DW - 20, DH - 55);
        // Charts whose questions name a series show a legend (line charts even with one series).
        if (spec.Series.Length > 1 || spec.Kind is ChartKind.Scatter or ChartKind.Line) plot.Top = 72;
        return plot;
    }

    /// <summary>The top of the value axis for a maximum value (a nice step above it, with 8 % headroom).</summary>
    public static double AxisTop(double max)
    {
        double step = NiceStep(max);
        return Math.Ceiling(max * 1.08 / step) * step;
    }

    static SKColor SeriesColor(Style s, int i) => s.Palette[i % s.Palette.Length];

    static void DrawLegend(SKCanvas canvas, Style s, IReadOnlyList<string> names, float top)
    {
        using var font = new SKFont(s.Face, 12);
        using var ink = new SKPaint { IsAntialias = true, Color = s.Ink };
        float total = names.Sum(n => font.MeasureText(n) + 34);
        float x = Math.Max(10, (DW - total) / 2);
        for (int i = 0; i < names.Count; i++)
        {
            using var sw = new SKPaint { Color = SeriesColor(s, i) };
            canvas.DrawRect(x, top - 10, 14, 11, sw);
            canvas.DrawText(names[i], x + 18, top, SKTextAlign.Left, font, ink);
            x += font.MeasureText(names[i]) + 34;
        }
    }

    /// <summary>A tick step from {1, 2, 2.5, 5}·10^k giving about 5 intervals up to <paramref name="max"/>.</summary>
    static double NiceStep(double max)
    {
        double raw = max / 5, mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        foreach (var f in new[] { 1, 2, 2.5, 5, 10 }) if (f * mag >= raw) return f * mag;
        return 10 * mag;
    }

    static double DrawValueAxis(SKCanvas canvas, Style s, SKRect plot, double max, string label, bool vertical = true)
    {
        double step = NiceStep(max), top = AxisTop(max);
        using var font = new SKFont(s.Face, 11);
        using var ink = new SKPaint { IsAntialias = true, Color = new SKColor(80, 80, 80) };
        using var grid = new SKPaint { Color = new SKColor(215, 215, 215), StrokeWidth = 1 };
        for (double v = 0; v <= top + 1e-9; v += step)
        {
            string t = v.ToString(step < 1 ? "0.0" : "0", System.Globalization.CultureInfo.InvariantCulture);
            if (vertical)
            {
                float y = plot.Bottom - (float)(v / top) * plot.Height;
                if (s.Grid) canvas.DrawLine(plot.Left, y, plot.Right, y, grid);
                canvas.DrawText(t, plot.Left - 5, y + 4, SKTextAlign.Right, font, ink);
            }
            else
            {
                float x = plot.Left + (float)(v / top) * plot.Width;
                if (s.Grid) canvas.DrawLine(x, plot.Top, x, plot.Bottom, grid);
                canvas.DrawText(t, x, plot.Bottom + 15, SKTextAlign.Center, font, ink);
            }
        }
        using var axis = new SKPaint { Color = new SKColor(60, 60, 60), StrokeWidth = 1.2f, IsAntialias = true };
        canvas.DrawLine(plot.Left, plot.Bottom, plot.Right, plot.Bottom, axis);
        canvas.DrawLine(plot.Left, plot.Top, plot.Left, plot.Bottom, axis);
        using var lf = new SKFont(s.Face, TextLayout.FitSize(label, s.Face, 12, vertical ? plot.Height : plot.Width));
        using var li = new SKPaint { IsAntialias = true, Color = s.Ink };
        if (vertical)
        {
            canvas.Save();
            canvas.RotateDegrees(-90, 16, plot.MidY);
            canvas.DrawText(label, 16, plot.MidY, SKTextAlign.Center, lf, li);
            canvas.Restore();
        }
        else canvas.DrawText(label, plot.MidX, plot.Bottom + 34, SKTextAlign.Center, lf, li);
        return top;
    }

    static void DrawCategoryLabels(SKCanvas canvas, Style s, SKRect plot, string[] cats, string axisLabel)
    {
        float slot = plot.Width / cats.Length;
        using var ink = new SKPaint { IsAntialias = true, Color = s.Ink };
        float size = cats.Min(c => TextLayout.FitSize(c, s.Face, 12, slot - 4));
        using var font = new SKFont(s.Face, size);
        for (int i = 0; i < cats.Length; i++)
            canvas.DrawText(cats[i], plot.Left + slot * (i + 0.5f), plot.Bottom + 16, SKTextAlign.Center, font, ink);
        using var lf = new SKFont(s.Face, 12);
        canvas.DrawText(axisLabel, plot.MidX, plot.Bottom + 38, SKTextAlign.Center, lf, ink);
    }

    static void DrawCategorical(SKCanvas canvas, ChartSpec spec, Style s, SKRect plot)
    {
        int n = spec.Categories.Length, k = spec.Series.Length;
        double max = spec.Series.Max(x => x.Values.Max());
        double top = DrawValueAxis(canvas, s, plot, max, spec.YLabel);
        float slot = plot.Width / n;
        float Y(double v) => plot.Bottom - (float)(v / top) * plot.Height;
        using var ink = new SKPaint { IsAntialias = true, Color = s.Ink };
        if (k > 1 || spec.Kind == ChartKind.Line) DrawLegend(canvas, s, spec.Series.Select(x => x.Name).ToList(), 54);
        if (spec.Kind == ChartKind.Line)
        {
            for (int si = 0; si < k; si++)
            {
                using var line = new SKPaint { IsAntialias = true, Color = SeriesColor(s, si), StrokeWidth = 2.5f, Style = SKPaintStyle.Stroke };
                using var dot = new SKPaint { IsAntialias = true, Color = SeriesColor(s, si) };
                var v = spec.Series[si].Values;
                var b = new SKPathBuilder();
                for (int i = 0; i < n; i++) { var p = new SKPoint(plot.Left + slot * (i + 0.5f), Y(v[i])); if (i == 0) b.MoveTo(p); else b.LineTo(p); }
                using var path = b.Detach();
                canvas.DrawPath(path, line);
                for (int i = 0; i < n; i++) canvas.DrawCircle(plot.Left + slot * (i + 0.5f), Y(v[i]), 4, dot);
            }
            // Value labels: above the point for the upper series at that category, below for the lower one.
            using var vf = new SKFont(s.Face, Math.Min(11, spec.Series.SelectMany(x => x.Values).Min(v => TextLayout.FitSize(spec.Format(v), s.Face, 11, slot - 2))));
            for (int si = 0; si < k; si++)
            {
                using var lp = new SKPaint { IsAntialias = true, Color = Darken(SeriesColor(s, si)) };
                for (int i = 0; i < n; i++)
                {
                    double v = spec.Series[si].Values[i];
                    bool upper = k == 1 || spec.Series.All(o => o.Values[i] <= v);
                    float y = upper ? Y(v) - 8 : Y(v) + 17;
                    canvas.DrawText(spec.Format(v), plot.Left + slot * (i + 0.5f), y, SKTextAlign.Center, vf, lp);
                }
            }
        }
        else
        {
            float group = slot * 0.78f, bw = group / k;
            using var vf = new SKFont(s.Face, Math.Min(11, spec.Series.SelectMany(x => x.Values).Min(v => TextLayout.FitSize(spec.Format(v), s.Face, 11, bw + 2))));
            for (int si = 0; si < k; si++)
            {
                using var bar = new SKPaint { IsAntialias = true, Color = SeriesColor(s, k == 1 && spec.Series[0].Values.Length > 0 && s.Grid ? 0 : si) };
                for (int i = 0; i < n; i++)
                {
                    double v = spec.Series[si].Values[i];
                    float x0 = plot.Left + slot * i + (slot - group) / 2 + bw * si;
                    canvas.DrawRect(x0 + 1, Y(v), bw - 2, plot.Bottom - Y(v), bar);
                    canvas.DrawText(spec.Format(v), x0 + bw / 2, Y(v) - 4, SKTextAlign.Center, vf, ink);
                }
            }
        }
        DrawCategoryLabels(canvas, s, plot, spec.Categories, spec.XLabel);
    }

    static void DrawHorizontalBars(SKCanvas canvas, ChartSpec spec, Style s)
    {
        using var cf = new SKFont(s.Face, 12);
        float labelW = Math.Min(150, spec.Categories.Max(c => cf.MeasureText(c)) + 12);
        var plot = new SKRect(labelW + 10, 50, DW - 50, DH - 50);
        var v = spec.Series[0].Values;
        double top = DrawValueAxis(canvas, s, plot, v.Max(), spec.YLabel, vertical: false);
        float slot = plot.Height / v.Length;
        using var ink = new SKPaint { IsAntialias = true, Color = s.Ink };
        using var bar = new SKPaint { IsAntialias = true, Color = SeriesColor(s, 0) };
        using var vf = new SKFont(s.Face, 11);
        for (int i = 0; i < v.Length; i++)
        {
            float y0 = plot.Top + slot * i + slot * 0.15f, len = (float)(v[i] / top) * plot.Width;
            canvas.DrawRect(plot.Left, y0, len, slot * 0.7f, bar);
            canvas.DrawText(spec.Format(v[i]), plot.Left + len + 4, y0 + slot * 0.35f + 4, SKTextAlign.Left, vf, ink);
            using var lf = new SKFont(s.Face, TextLayout.FitSize(spec.Categories[i], s.Face, 12, labelW - 6));
            canvas.DrawText(spec.Categories[i], plot.Left - 6, y0 + slot * 0.35f + 4, SKTextAlign.Right, lf, ink);
        }
    }

    static void DrawPie(SKCanvas canvas, ChartSpec spec, Style s)
    {
        var v = spec.Series[0].Values;
        float cx = 200, cy = 230, r = 145;
        using var ink = new SKPaint { IsAntialias = true, Color = s.Ink };
        using var white = new SKPaint { IsAntialias = true, Color = SKColors.White };
        using var edge = new SKPaint { IsAntialias = true, Color = s.Background, Style = SKPaintStyle.Stroke, StrokeWidth = 2 };
        using var pf = new SKFont(s.Bold, 13);
        float start = -90;
        var rect = new SKRect(cx - r, cy - r, cx + r, cy + r);
        for (int i = 0; i < v.Length; i++)
        {
            float sweep = (float)(v[i] / 100 * 360);
            using var fill = new SKPaint { IsAntialias = true, Color = SeriesColor(s, i) };
            canvas.DrawArc(rect, start, sweep, true, fill);
            canvas.DrawArc(rect, start, sweep, true, edge);
            double mid = (start + sweep / 2) * Math.PI / 180;
            // Narrow slices get their label outside the pie.
            bool inside = v[i] >= 8;
            float lr = inside ? r * 0.66f : r + 16;
            float lx = cx + lr * (float)Math.Cos(mid), ly = cy + lr * (float)Math.Sin(mid) + 5;
            var text = spec.Format(v[i]);
            canvas.DrawText(text, lx, ly, SKTextAlign.Center, pf, inside && NamedColor.Luminance(SeriesColor(s, i)) < 0.6 ? white : ink);
            start += sweep;
        }
        using var font = new SKFont(s.Face, 13);
        float lyy = cy - v.Length * 12;
        float maxW = DW - 395;
        for (int i = 0; i < v.Length; i++)
        {
            using var sw = new SKPaint { Color = SeriesColor(s, i) };
            canvas.DrawRect(390, lyy + i * 24 - 11, 14, 14, sw);
            using var lf = new SKFont(s.Face, TextLayout.FitSize(spec.Categories[i], s.Face, 13, maxW - 25));
            canvas.DrawText(spec.Categories[i], 410, lyy + i * 24, SKTextAlign.Left, lf, ink);
        }
    }

    static void DrawScatter(SKCanvas canvas, ChartSpec spec, Style s, SKRect plot)
    {
        double maxX = spec.Points.Max(p => p.X), maxY = spec.Points.Max(p => p.Y);
        double topY = DrawValueAxis(canvas, s, plot, maxY, spec.YLabel);
        double stepX = NiceStep(maxX), topX = Math.Ceiling(maxX * 1.08 / stepX) * stepX;
        using var font = new SKFont(s.Face, 11);
        using var grey = new SKPaint { IsAntialias = true, Color = new SKColor(80, 80, 80) };
        for (double x = 0; x <= topX + 1e-9; x += stepX)
            canvas.DrawText(x.ToString(stepX < 1 ? "0.0" : "0", System.Globalization.CultureInfo.InvariantCulture), plot.Left + (float)(x / topX) * plot.Width, plot.Bottom + 15, SKTextAlign.Center, font, grey);
        using var lf = new SKFont(s.Face, TextLayout.FitSize(spec.XLabel, s.Face, 12, plot.Width));
        using var ink = new SKPaint { IsAntialias = true, Color = s.Ink };
        canvas.DrawText(spec.XLabel, plot.MidX, plot.Bottom + 36, SKTextAlign.Center, lf, ink);
        DrawLegend(canvas, s, spec.Series.Select(x => x.Name).ToList(), 54);
        for (int si = 0; si < spec.Series.Length; si++)
        {
            using var dot = new SKPaint { IsAntialias = true, Color = SeriesColor(s, si) };
            using var ring = new SKPaint { IsAntialias = true, Color = Darken(SeriesColor(s, si)), Style = SKPaintStyle.Stroke, StrokeWidth = 1 };
            foreach (var p in spec.Points.Where(p => p.Series == spec.Series[si].Name))
            {
                float x = plot.Left + (float)(p.X / topX) * plot.Width, y = plot.Bottom - (float)(p.Y / topY) * plot.Height;
                canvas.DrawCircle(x, y, 5, dot);
                canvas.DrawCircle(x, y, 5, ring);
            }
        }
    }

    static SKColor Darken(SKColor c) => new((byte)(c.Red * 0.6), (byte)(c.Green * 0.6), (byte)(c.Blue * 0.6));
}
