using SkiaSharp;

namespace Molmo.Synthetic.Counting;

public enum ShapeKind { Circle, Square, Triangle, Star, Diamond, Hexagon }

/// <summary>
/// One drawn object: its shape fits inside the circle (<see cref="X"/>, <see cref="Y"/>, <see cref="Radius"/>) in pixels, and
/// (X, Y) is both its centre and a point inside it. Objects never overlap because these circles are disjoint.
/// </summary>
public sealed record SceneObject(ShapeKind Shape, NamedColor Color, float X, float Y, float Radius, float RotationDeg, bool Outline)
{
    public static string Singular(ShapeKind s) => s.ToString().ToLowerInvariant();
    public static string Plural(ShapeKind s) => Singular(s) + "s";

    /// <summary>The outline as a polygon (null for circles).</summary>
    public SKPoint[]? Polygon()
    {
        SKPoint At(double deg, float dist)
        {
            double a = (deg + RotationDeg - 90) * Math.PI / 180;
            return new SKPoint(X + dist * (float)Math.Cos(a), Y + dist * (float)Math.Sin(a));
        }
        return Shape switch
        {
            ShapeKind.Circle => null,
            ShapeKind.Square => Enumerable.Range(0, 4).Select(k => At(45 + 90 * k, Radius)).ToArray(),
            ShapeKind.Triangle => Enumerable.Range(0, 3).Select(k => At(120 * k, Radius)).ToArray(),
            ShapeKind.Hexagon => Enumerable.Range(0, 6).Select(k => At(60 * k, Radius)).ToArray(),
            ShapeKind.Diamond => [At(0, Radius), At(90, Radius * 0.62f), At(180, Radius), At(270, Radius * 0.62f)],
            ShapeKind.Star => Enumerable.Range(0, 10).Select(k => At(36 * k, k % 2 == 0 ? Radius : Radius * 0.45f)).ToArray(),
            _ => throw new InvalidOperationException($"unknown shape {Shape}"),
        };
    }

    /// <summary>Whether pixel position (px, py) lies inside the drawn shape.</summary>
    public bool Contains(double px, double py)
    {
        var poly = Polygon();
        if (poly is null) return (px - X) * (px - X) + (py - Y) * (py - Y) <= Radius * Radius;
        bool inside = false;
        for (int i = 0, j = poly.Length - 1; i < poly.Length; j = i++)
        {
            var (a, b) = (poly[i], poly[j]);
            if ((a.Y > py) != (b.Y > py) && px < (b.X - a.X) * (py - a.Y) / (b.Y - a.Y) + a.X) inside = !inside;
        }
        return inside;
    }

    public void Draw(SKCanvas canvas)
    {
        using var fill = new SKPaint { IsAntialias = true, Color = Color.Color };
        using var stroke = new SKPaint
        {
            IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeJoin = SKStrokeJoin.Round,
            StrokeWidth = Math.Max(1f, Radius * 0.08f),
            Color = NamedColor.Luminance(Color.Color) < 0.25 ? new SKColor(235, 235, 235) : new SKColor(20, 20, 20),
        };
        var poly = Polygon();
        if (poly is null)
        {
            canvas.DrawCircle(X, Y, Radius, fill);
            if (Outline) canvas.DrawCircle(X, Y, Radius - stroke.StrokeWidth / 2, stroke);
            return;
        }
        var b = new SKPathBuilder();
        b.AddPoly(poly, close: true);
        using var path = b.Detach();
        canvas.DrawPath(path, fill);
        if (Outline) canvas.DrawPath(path, stroke);
    }
}
