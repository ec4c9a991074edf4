using SkiaSharp;

namespace Molmo.Synthetic;

/// <summary>A colour with the word questions use for it.</summary>
public sealed record NamedColor(string Name, SKColor Color)
{
    /// <summary>Saturated, clearly distinct object colours (no white, so objects stand out on light backgrounds).</summary>
    public static readonly IReadOnlyList<NamedColor> Objects =
    [
        new("red", new SKColor(220, 30, 35)),
        new("blue", new SKColor(30, 80, 220)),
        new("green", new SKColor(30, 160, 60)),
        new("yellow", new SKColor(245, 205, 20)),
        new("orange", new SKColor(245, 130, 20)),
        new("purple", new SKColor(130, 50, 180)),
        new("pink", new SKColor(240, 110, 180)),
        new("brown", new SKColor(125, 80, 40)),
        new("black", new SKColor(25, 25, 25)),
        new("gray", new SKColor(128, 128, 128)),
    ];

    /// <summary>Relative luminance in [0, 1].</summary>
    public static double Luminance(SKColor c) => (0.2126 * c.Red + 0.7152 * c.Green + 0.0722 * c.Blue) / 255.0;

    public static SKColor Hsv(double h, double s, double v) => SKColor.FromHsv((float)(((h % 360) + 360) % 360), (float)(s * 100), (float)(v * 100));
}
