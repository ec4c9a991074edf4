using System.Globalization;
using SkiaSharp;

namespace Molmo.Synthetic.Documents;

/// <summary>Draws receipts (400×500 design space), forms and flowcharts (560×420), scaled to the image.</summary>
public static class DocumentRenderer
{
    public static void Draw(SKCanvas canvas, object spec, int width, int height, SyntheticRandom rng)
    {
        switch (spec)
        {
            case ReceiptSpec r: DrawReceipt(canvas, r, width, height, rng); break;
            case FormSpec f: DrawForm(canvas, f, width, height, rng); break;
            case FlowchartSpec f: DrawFlowchart(canvas, f, width, height, rng); break;
            default: throw new ArgumentException($"no renderer for {spec.GetType().Name}", nameof(spec));
        }
    }

    static void DrawReceipt(SKCanvas canvas, ReceiptSpec r, int width, int height, SyntheticRandom rng)
    {
        const float DW = 400, DH = 500;
        Backgrounds.Draw(canvas, width, height, rng, light: false);
        canvas.Save();
        canvas.Scale(width / DW, height / DH);
        float paperW = rng.UniformF(320, 360), x0 = (DW - paperW) / 2 + rng.UniformF(-8, 8);
        canvas.RotateDegrees(rng.UniformF(-2.5f, 2.5f), DW / 2, DH / 2);
        float lineH = 19, contentH = 125 + (r.Lines.Length * 2 + 5) * lineH;
        float y0 = Math.Max(8, (DH - contentH) / 2);
        var paper = new SKRect(x0, y0, x0 + paperW, Math.Min(DH - 8, y0 + contentH));
        using (var shadow = new SKPaint { Color = new SKColor(0, 0, 0, 90), MaskFilter = SKMaskFilter.CreateBlur(SKBlurStyle.Normal, 6) })
            canvas.DrawRect(SKRect.Inflate(paper, 2, 2), shadow);
        using (var pp = new SKPaint { Color = NamedColor.Hsv(rng.Uniform(30, 60), rng.Uniform(0, 0.08), rng.Uniform(0.95, 1)) })
            canvas.DrawRect(paper, pp);
        var face = rng.Chance(0.7) ? Typefaces.Mono : Typefaces.SansCondensed;
        var bold = face == Typefaces.Mono ? Typefaces.MonoBold : Typefaces.SansBold;
        using var ink = new SKPaint { IsAntialias = true, Color = new SKColor(30, 30, 35) };
        using var font = new SKFont(face, 14f);
        using var head = new SKFont(bold, TextLayout.FitSize(r.Store.ToUpperInvariant(), bold, 17, paperW - 20));
        float left = paper.Left + 12, right = paper.Right - 12, y = paper.Top + 30;
        canvas.DrawText(r.Store.ToUpperInvariant(), paper.MidX, y, SKTextAlign.Center, head, ink);
        y += 20;
        canvas.DrawText($"Date: {r.Date}   Time: {r.Time}", paper.MidX, y, SKTextAlign.Center, font, ink);
        y += 12;
        using var dash = new SKPaint { Color = new SKColor(60, 60, 60), StrokeWidth = 1, PathEffect = SKPathEffect.CreateDash([4f, 3f], 0) };
        canvas.DrawLine(left, y, right, y, dash);
        y += lineH + 2;
        foreach (var l in r.Lines)
        {
            using var itemFont = new SKFont(face, TextLayout.FitSize(l.Item, face, 14f, paperW - 120));
            canvas.DrawText(l.Item, left, y, SKTextAlign.Left, itemFont, ink);
            canvas.DrawText(ReceiptSpec.Money(l.LineTotal), right, y, SKTextAlign.Right, font, ink);
            y += lineH - 2;
            using var small = new SKFont(face, 12f);
            canvas.DrawText($"  {l.Quantity} x {ReceiptSpec.Money(l.UnitPrice)}", left, y, SKTextAlign.Left, small, ink);
            y += lineH + 2;
        }
        canvas.DrawLine(left, y - 10, right, y - 10, dash);
        void Row(string label, string value, SKFont f)
        {
            canvas.DrawText(label, left, y, SKTextAlign.Left, f, ink);
            canvas.DrawText(value, right, y, SKTextAlign.Right, f, ink);
            y += lineH;
        }
        y += 6;
        Row("SUBTOTAL", ReceiptSpec.Money(r.Subtotal), font);
        Row($"TAX {r.TaxRatePercent.ToString("0", CultureInfo.InvariantCulture)}%", ReceiptSpec.Money(r.Tax), font);
        using var totalFont = new SKFont(bold, 16);
        Row("TOTAL", ReceiptSpec.Money(r.Total), totalFont);
        Row("PAID BY", r.Payment.ToUpperInvariant(), font);
        using var thanks = new SKFont(face, 11);
        canvas.DrawText("Thank you for your visit!", paper.MidX, y + 6, SKTextAlign.Center, thanks, ink);
        canvas.Restore();
    }

    static void DrawForm(SKCanvas canvas, FormSpec f, int width, int height, SyntheticRandom rng)
    {
        const float DW = 560, DH = 420;
        canvas.Clear(NamedColor.Hsv(rng.Uniform(0, 360), rng.Uniform(0, 0.05), rng.Uniform(0.96, 1)));
        canvas.Save();
        canvas.Scale(width / DW, height / DH);
        var accent = NamedColor.Hsv(rng.Uniform(0, 360), rng.Uniform(0.4, 0.8), rng.Uniform(0.3, 0.6));
        var face = rng.Chance(0.3) ? Typefaces.Serif : Typefaces.Sans;
        var bold = face == Typefaces.Serif ? Typefaces.SerifBold : Typefaces.SansBold;
        using var band = new SKPaint { Color = accent };
        canvas.DrawRect(0, 0, DW, 52, band);
        using var white = new SKPaint { IsAntialias = true, Color = SKColors.White };
        using var tf = new SKFont(bold, TextLayout.FitSize(f.Title, bold, 21, DW - 40));
        canvas.DrawText(f.Title, 20, 34, SKTextAlign.Left, tf, white);
        using var ink = new SKPaint { IsAntialias = true, Color = new SKColor(35, 35, 35) };
        using var grey = new SKPaint { IsAntialias = true, Color = new SKColor(95, 95, 95) };
        using var box = new SKPaint { IsAntialias = true, Color = new SKColor(150, 150, 150), Style = SKPaintStyle.Stroke, StrokeWidth = 1 };
        bool twoCols = f.Labels.Length > 4 && rng.Chance(0.5);
        int perCol = twoCols ? (f.Labels.Length + 1) / 2 : f.Labels.Length;
        float colW = twoCols ? (DW - 60) / 2 : DW - 40;
        float rowH = Math.Min(58, (DH - 100) / perCol);
        var hand = rng.Chance(0.5) ? Typefaces.Mono : face;
        for (int i = 0; i < f.Labels.Length; i++)
        {
            float x = 20 + (i / perCol) * (colW + 20), y = 72 + (i % perCol) * rowH;
            using var lf = new SKFont(face, 11);
            canvas.DrawText(f.Labels[i].ToUpperInvariant(), x, y + 10, SKTextAlign.Left, lf, grey);
            canvas.DrawRoundRect(new SKRect(x, y + 15, x + colW, y + rowH - 8), 3, 3, box);
            using var vf = new SKFont(hand, TextLayout.FitSize(f.Values[i], hand, Math.Min(15, rowH * 0.4f), colW - 14));
            canvas.DrawText(f.Values[i], x + 7, y + 15 + (rowH - 23) / 2 + vf.Size * 0.36f, SKTextAlign.Left, vf, ink);
        }
        using var ff = new SKFont(face, 10);
        canvas.DrawText(f.Footer, 20, DH - 12, SKTextAlign.Left, ff, grey);
        canvas.Restore();
    }

    static void DrawFlowchart(SKCanvas canvas, FlowchartSpec f, int width, int height, SyntheticRandom rng)
    {
        const float DW = 560, DH = 420;
        canvas.Clear(SKColors.White);
        canvas.Save();
        canvas.Scale(width / DW, height / DH);
        var face = rng.Chance(0.3) ? Typefaces.Serif : Typefaces.Sans;
        var bold = face == Typefaces.Serif ? Typefaces.SerifBold : Typefaces.SansBold;
        using var ink = new SKPaint { IsAntialias = true, Color = new SKColor(25, 25, 25) };
        using var tf = new SKFont(bold, 18);
        canvas.DrawText(f.Title, DW / 2, 30, SKTextAlign.Center, tf, ink);
        var fill = NamedColor.Hsv(rng.Uniform(0, 360), rng.Uniform(0.15, 0.4), rng.Uniform(0.85, 0.97));
        var stroke = NamedColor.Hsv(rng.Uniform(0, 360), rng.Uniform(0.4, 0.8), rng.Uniform(0.25, 0.5));
        using var fp = new SKPaint { IsAntialias = true, Color = fill };
        using var sp = new SKPaint { IsAntialias = true, Color = stroke, Style = SKPaintStyle.Stroke, StrokeWidth = 2 };
        using var ap = new SKPaint { IsAntialias = true, Color = stroke, StrokeWidth = 2 };
        int n = f.Steps.Length;
        var rects = new SKRect[n];
        if (f.Horizontal)
        {
            float gap = 34, bw = (DW - 40 - gap * (n - 1)) / n, bh = 70, y = DH / 2 - bh / 2;
            for (int i = 0; i < n; i++) rects[i] = new SKRect(20 + i * (bw + gap), y, 20 + i * (bw + gap) + bw, y + bh);
        }
        else
        {
            float top = 48, gap = 16, bh = (DH - top - 12 - gap * (n - 1)) / n, bw = 240;
            for (int i = 0; i < n; i++) rects[i] = new SKRect(DW / 2 - bw / 2, top + i * (bh + gap), DW / 2 + bw / 2, top + i * (bh + gap) + bh);
        }
        bool rounded = rng.Chance(0.6);
        for (int i = 0; i < n; i++)
        {
            var r = rects[i];
            float corner = rounded || i == 0 || i == n - 1 ? Math.Min(r.Height / 2, 14) : 2;
            canvas.DrawRoundRect(r, corner, corner, fp);
            canvas.DrawRoundRect(r, corner, corner, sp);
            float size = Math.Min(15, r.Height * 0.42f);
            using var font = new SKFont(face, size);
            var lines = TextLayout.Wrap(f.Steps[i], font, r.Width - 12);
            if (lines.Count > 2 || lines.Any(l => font.MeasureText(l) > r.Width - 8))
            {
                font.Size = TextLayout.FitSize(f.Steps[i], face, size, r.Width - 12);
                lines = [f.Steps[i]];
            }
            float lh = font.Size * 1.15f, ty = r.MidY - (lines.Count - 1) * lh / 2 + font.Size * 0.36f;
            foreach (var l in lines) { canvas.DrawText(l, r.MidX, ty, SKTextAlign.Center, font, ink); ty += lh; }
            if (i > 0) Arrow(canvas, rects[i - 1], r, f.Horizontal, ap);
        }
        canvas.Restore();
    }

    static void Arrow(SKCanvas canvas, SKRect from, SKRect to, bool horizontal, SKPaint p)
    {
        var a = horizontal ? new SKPoint(from.Right, from.MidY) : new SKPoint(from.MidX, from.Bottom);
        var b = horizontal ? new SKPoint(to.Left, to.MidY) : new SKPoint(to.MidX, to.Top);
        canvas.DrawLine(a, b, p);
        var d = b - a;
        float len = d.Length, ux = d.X / len, uy = d.Y / len, s = 8;
        var pb = new SKPathBuilder();
        pb.MoveTo(b);
        pb.LineTo(b.X - ux * s - uy * s * 0.6f, b.Y - uy * s + ux * s * 0.6f);
        pb.LineTo(b.X - ux * s + uy * s * 0.6f, b.Y - uy * s - ux * s * 0.6f);
        pb.Close();
        using var path = pb.Detach();
        canvas.DrawPath(path, p);
    }
}
