using SkiaSharp;

namespace Molmo.Synthetic.Clocks;

/// <summary>
/// Draws an analog clock. The face is drawn in design units (outer radius 100, 12 o'clock at −y) and mapped to the image by
/// the pose (translate · scale · perspective · rotate), so hand angles are exact in the face's own frame.
/// </summary>
public static class ClockRenderer
{
    const float R = 100f;

    public static void Draw(SKCanvas canvas, ClockStyle style, ClockTime time, ClockPose pose)
    {
        var rotate = SKMatrix.CreateRotationDegrees(pose.RotationDeg);
        var persp = SKMatrix.Identity;
        persp.Persp0 = pose.TiltX;
        persp.Persp1 = pose.TiltY;
        var scale = SKMatrix.CreateScale(pose.RadiusPx / R, pose.RadiusPx / R);
        var translate = SKMatrix.CreateTranslation(pose.CenterX, pose.CenterY);
        var m = SKMatrix.Concat(translate, SKMatrix.Concat(scale, SKMatrix.Concat(persp, rotate)));

        canvas.Save();
        canvas.SetMatrix(SKMatrix.Concat(canvas.TotalMatrix, m));
        if (style.Strap) DrawStrap(canvas, style);
        if (pose.Shadow) DrawShadow(canvas, style);
        float rf = DrawCase(canvas, style);
        DrawTicks(canvas, style, rf);
        DrawNumerals(canvas, style, rf);
        if (style.Brand is { } brand)
        {
            using var font = new SKFont(style.Font, rf * 0.09f);
            using var p = new SKPaint { IsAntialias = true, Color = style.Ink };
            canvas.DrawText(brand, 0, -rf * 0.3f, SKTextAlign.Center, font, p);
        }
        DrawHand(canvas, style, style.Hands, time.HourHandAngle, rf * 0.5f, rf * 0.075f * style.HandWeight, style.HandColor);
        DrawHand(canvas, style, style.Hands, time.MinuteHandAngle, rf * 0.8f, rf * 0.052f * style.HandWeight, style.HandColor);
        if (style.SecondsHand) DrawSecondsHand(canvas, style, time.SecondHandAngle, rf);
        using (var cap = new SKPaint { IsAntialias = true, Color = style.SecondsHand ? style.SecondsColor : style.HandColor })
            canvas.DrawCircle(0, 0, rf * 0.05f * Math.Max(1f, style.HandWeight), cap);
        if (pose.Glare) DrawGlare(canvas, rf);
        canvas.Restore();
    }

    static SKPath FaceOutline(FaceShape shape, float r)
    {
        var b = new SKPathBuilder();
        switch (shape)
        {
            case FaceShape.RoundedSquare:
                b.AddRoundRect(new SKRoundRect(new SKRect(-r, -r, r, r), r * 0.28f));
                break;
            case FaceShape.Octagon:
                for (int i = 0; i < 8; i++)
                {
                    double a = Math.PI / 8 + i * Math.PI / 4;
                    float x = (float)(r * Math.Cos(a) / Math.Cos(Math.PI / 8)), y = (float)(r * Math.Sin(a) / Math.Cos(Math.PI / 8));
                    if (i == 0) b.MoveTo(x, y); else b.LineTo(x, y);
                }
                b.Close();
                break;
            default:
                b.AddCircle(0, 0, r);
                break;
        }
        return b.Detach();
    }

    static void DrawStrap(SKCanvas canvas, ClockStyle style)
    {
        using var p = new SKPaint { IsAntialias = true, Color = style.StrapColor };
        canvas.DrawRoundRect(new SKRect(-R * 0.58f, -R * 3.2f, R * 0.58f, R * 3.2f), R * 0.08f, R * 0.08f, p);
        using var lug = new SKPaint { IsAntialias = true, Color = style.Bezel };
        canvas.DrawRect(-R * 0.66f, -R * 1.08f, R * 1.32f, R * 0.2f, lug);
        canvas.DrawRect(-R * 0.66f, R * 0.88f, R * 1.32f, R * 0.2f, lug);
        using var stitch = new SKPaint { IsAntialias = true, Color = Lighten(style.StrapColor, 0.35f), Style = SKPaintStyle.Stroke, StrokeWidth = 1.2f,
            PathEffect = SKPathEffect.CreateDash([5f, 4f], 0) };
        foreach (var x in new[] { -R * 0.48f, R * 0.48f })
        {
            canvas.DrawLine(x, -R * 3.2f, x, -R * 1.1f, stitch);
            canvas.DrawLine(x, R * 1.1f, x, R * 3.2f, stitch);
        }
    }

    static void DrawShadow(SKCanvas canvas, ClockStyle style)
    {
        using var path = FaceOutline(style.Shape, R);
        using var p = new SKPaint { IsAntialias = true, Color = new SKColor(0, 0, 0, 110), MaskFilter = SKMaskFilter.CreateBlur(SKBlurStyle.Normal, R * 0.06f) };
        canvas.Save();
        canvas.Translate(R * 0.07f, R * 0.09f);
        canvas.DrawPath(path, p);
        canvas.Restore();
    }

    /// <summary>Bezel and face; returns the face radius.</summary>
    static float DrawCase(SKCanvas canvas, ClockStyle style)
    {
        float rf = R * (1 - style.BezelWidth);
        if (style.BezelWidth > 0)
        {
            using var outer = FaceOutline(style.Shape, R);
            using var bp = new SKPaint
            {
                IsAntialias = true,
                Shader = SKShader.CreateSweepGradient(SKPoint.Empty, [Lighten(style.Bezel, 0.35f), style.Bezel, Darken(style.Bezel, 0.6f), style.Bezel, Lighten(style.Bezel, 0.35f)]),
            };
            canvas.DrawPath(outer, bp);
        }
        using var face = FaceOutline(style.Shape, rf);
        using var fp = new SKPaint { IsAntialias = true, Color = style.Face };
        if (style.FaceGradient is { } g)
            fp.Shader = SKShader.CreateRadialGradient(new SKPoint(-rf * 0.2f, -rf * 0.25f), rf * 1.3f, [style.Face, g], SKShaderTileMode.Clamp);
        canvas.DrawPath(face, fp);
        using var rim = new SKPaint { IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeWidth = 1f, Color = Darken(style.Face, 0.7f) };
        canvas.DrawPath(face, rim);
        return rf;
    }

    static void DrawTicks(SKCanvas canvas, ClockStyle style, float rf)
    {
        using var p = new SKPaint { IsAntialias = true, Color = style.Ink, StrokeCap = SKStrokeCap.Butt };
        float outer = rf * 0.95f;
        void Bar(int i, int of, float len, float width)
        {
            canvas.Save();
            canvas.RotateDegrees(360f * i / of);
            p.StrokeWidth = width;
            canvas.DrawLine(0, -outer, 0, -outer + len, p);
            canvas.Restore();
        }
        void Dot(int i, int of, float radius)
        {
            double a = 2 * Math.PI * i / of;
            canvas.DrawCircle((float)(Math.Sin(a) * (outer - radius)), (float)(-Math.Cos(a) * (outer - radius)), radius, p);
        }
        switch (style.Ticks)
        {
            case TickKind.Hours:
                for (int i = 0; i < 12; i++) Bar(i, 12, rf * 0.09f, rf * 0.03f);
                break;
            case TickKind.HoursAndMinutes:
                for (int i = 0; i < 60; i++) if (i % 5 != 0) Bar(i, 60, rf * 0.04f, rf * 0.009f);
                for (int i = 0; i < 12; i++) Bar(i, 12, rf * 0.09f, rf * 0.025f);
                break;
            case TickKind.Dots:
                for (int i = 0; i < 12; i++) Dot(i, 12, i % 3 == 0 ? rf * 0.04f : rf * 0.022f);
                break;
            case TickKind.QuarterBars:
                for (int i = 0; i < 12; i++)
                    if (i % 3 == 0) Bar(i, 12, rf * 0.16f, rf * 0.06f); else Dot(i, 12, rf * 0.025f);
                break;
            case TickKind.RailwayMinutes:
                for (int i = 0; i < 60; i++) if (i % 5 != 0) Bar(i, 60, rf * 0.06f, rf * 0.018f);
                for (int i = 0; i < 12; i++) Bar(i, 12, rf * 0.2f, rf * 0.055f);
                break;
        }
    }

    static readonly string[] Roman = ["XII", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI"];

    static string? Numeral(NumeralKind kind, int i) => kind switch
    {
        NumeralKind.Arabic => (i == 0 ? 12 : i).ToString(System.Globalization.CultureInfo.InvariantCulture),
        NumeralKind.Roman => Roman[i],
        NumeralKind.RomanClassic4 => i == 4 ? "IIII" : Roman[i],
        NumeralKind.Quarters => i % 3 == 0 ? (i == 0 ? 12 : i).ToString(System.Globalization.CultureInfo.InvariantCulture) : null,
        NumeralKind.QuarterRoman => i % 3 == 0 ? Roman[i] : null,
        _ => null,
    };

    static void DrawNumerals(SKCanvas canvas, ClockStyle style, float rf)
    {
        if (style.Numerals == NumeralKind.None) return;
        bool roman = style.Numerals is NumeralKind.Roman or NumeralKind.RomanClassic4 or NumeralKind.QuarterRoman;
        float size = rf * style.NumeralSize * (roman && !style.RadialNumerals ? 0.8f : 1f);
        using var font = new SKFont(style.Font, size);
        using var p = new SKPaint { IsAntialias = true, Color = style.Ink };
        float tickRoom = style.Ticks switch { TickKind.RailwayMinutes => 0.22f, TickKind.QuarterBars => 0.18f, TickKind.None => 0.02f, _ => 0.11f } * rf;
        float capH = font.Metrics.CapHeight > 0 ? font.Metrics.CapHeight : size * 0.72f;
        for (int i = 0; i < 12; i++)
        {
            var text = Numeral(style.Numerals, i);
            if (text is null) continue;
            float w = font.MeasureText(text);
            if (style.RadialNumerals)
            {
                canvas.Save();
                canvas.RotateDegrees(30f * i);
                canvas.DrawText(text, 0, -(rf * 0.95f - tickRoom - capH), SKTextAlign.Center, font, p);
                canvas.Restore();
            }
            else
            {
                // Keep the whole glyph box inside the ring: its half-diagonal decides how far in the centre goes.
                float half = (float)Math.Sqrt(w * w / 4 + capH * capH / 4);
                float rr = rf * 0.95f - tickRoom - half;
                double a = Math.PI * i / 6;
                float x = (float)(Math.Sin(a) * rr), y = (float)(-Math.Cos(a) * rr);
                canvas.DrawText(text, x, y + capH / 2, SKTextAlign.Center, font, p);
            }
        }
    }

    static void DrawHand(SKCanvas canvas, ClockStyle style, HandShape shape, double angle, float len, float w, SKColor color)
    {
        canvas.Save();
        canvas.RotateDegrees((float)angle);
        using var p = new SKPaint { IsAntialias = true, Color = color };
        using var outline = new SKPaint { IsAntialias = true, Color = Darken(color, 0.5f), Style = SKPaintStyle.Stroke, StrokeWidth = w * 0.12f };
        var b = new SKPathBuilder();
        switch (shape)
        {
            case HandShape.Line:
                p.StrokeWidth = w * 0.7f;
                p.StrokeCap = SKStrokeCap.Round;
                canvas.DrawLine(0, len * 0.12f, 0, -len, p);
                canvas.Restore();
                return;
            case HandShape.Baton:
                b.AddRect(new SKRect(-w / 2, -len, w / 2, len * 0.12f));
                break;
            case HandShape.Tapered:
                b.MoveTo(-w * 0.6f, len * 0.14f); b.LineTo(w * 0.6f, len * 0.14f); b.LineTo(w * 0.18f, -len); b.LineTo(-w * 0.18f, -len); b.Close();
                break;
            case HandShape.Sword:
            case HandShape.Skeleton:
                b.MoveTo(0, len * 0.12f); b.LineTo(-w * 0.75f, -len * 0.12f); b.LineTo(0, -len); b.LineTo(w * 0.75f, -len * 0.12f); b.Close();
                break;
            case HandShape.Arrow:
                b.AddRect(new SKRect(-w * 0.3f, -len * 0.78f, w * 0.3f, len * 0.12f));
                b.MoveTo(-w * 1.1f, -len * 0.74f); b.LineTo(0, -len); b.LineTo(w * 1.1f, -len * 0.74f); b.Close();
                break;
            case HandShape.Leaf:
                b.MoveTo(0, len * 0.1f);
                b.CubicTo(-w * 1.3f, -len * 0.2f, -w * 0.9f, -len * 0.6f, 0, -len);
                b.CubicTo(w * 0.9f, -len * 0.6f, w * 1.3f, -len * 0.2f, 0, len * 0.1f);
                b.Close();
                break;
        }
        using var path = b.Detach();
        if (shape == HandShape.Skeleton)
        {
            using var fill = new SKPaint { IsAntialias = true, Color = style.Face };
            canvas.DrawPath(path, fill);
            p.Style = SKPaintStyle.Stroke;
            p.StrokeWidth = w * 0.3f;
            p.StrokeJoin = SKStrokeJoin.Round;
            canvas.DrawPath(path, p);
            p.Style = SKPaintStyle.Fill;
            p.StrokeWidth = w * 0.22f;
            canvas.DrawLine(0, 0, 0, -len * 0.95f, p);
        }
        else
        {
            canvas.DrawPath(path, p);
            canvas.DrawPath(path, outline);
        }
        canvas.Restore();
    }

    static void DrawSecondsHand(SKCanvas canvas, ClockStyle style, double angle, float rf)
    {
        canvas.Save();
        canvas.RotateDegrees((float)angle);
        using var p = new SKPaint { IsAntialias = true, Color = style.SecondsColor, StrokeWidth = rf * 0.014f * Math.Max(1f, style.HandWeight), StrokeCap = SKStrokeCap.Round };
        canvas.DrawLine(0, rf * 0.22f, 0, -rf * 0.88f, p);
        if (style.Name is "railway" or "school_wall") canvas.DrawCircle(0, -rf * 0.62f, rf * 0.055f, p);
        canvas.Restore();
    }

    static void DrawGlare(SKCanvas canvas, float rf)
    {
        using var p = new SKPaint
        {
            IsAntialias = true,
            Shader = SKShader.CreateLinearGradient(new SKPoint(-rf, -rf), new SKPoint(rf * 0.2f, rf * 0.2f),
                [new SKColor(255, 255, 255, 70), new SKColor(255, 255, 255, 0)], SKShaderTileMode.Clamp),
        };
        canvas.DrawCircle(0, 0, rf, p);
    }

    static SKColor Lighten(SKColor c, float f) => new((byte)(c.Red + (255 - c.Red) * f), (byte)(c.Green + (255 - c.Green) * f), (byte)(c.Blue + (255 - c.Blue) * f));
    static SKColor Darken(SKColor c, float f) => new((byte)(c.Red * f), (byte)(c.Green * f), (byte)(c.Blue * f));
}
