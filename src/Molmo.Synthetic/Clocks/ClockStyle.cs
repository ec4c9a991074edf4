using SkiaSharp;

namespace Molmo.Synthetic.Clocks;

public enum NumeralKind { Arabic, Roman, RomanClassic4, Quarters, QuarterRoman, None }
public enum TickKind { None, Hours, HoursAndMinutes, Dots, QuarterBars, RailwayMinutes }
public enum HandShape { Line, Baton, Tapered, Sword, Arrow, Skeleton, Leaf }
public enum FaceShape { Circle, RoundedSquare, Octagon }

/// <summary>How an analog clock face looks. Presets live in <see cref="ClockStyles"/>; each example jitters one.</summary>
public sealed record ClockStyle
{
    public required string Name { get; init; }
    public NumeralKind Numerals { get; init; } = NumeralKind.Arabic;
    /// <summary>Numerals rotated to follow the dial instead of upright.</summary>
    public bool RadialNumerals { get; init; }
    public TickKind Ticks { get; init; } = TickKind.HoursAndMinutes;
    public HandShape Hands { get; init; } = HandShape.Tapered;
    public bool SecondsHand { get; init; }
    public FaceShape Shape { get; init; } = FaceShape.Circle;
    public SKColor Face { get; init; } = SKColors.White;
    /// <summary>Second face colour for a radial gradient (null: flat).</summary>
    public SKColor? FaceGradient { get; init; }
    public SKColor Ink { get; init; } = SKColors.Black;
    public SKColor HandColor { get; init; } = SKColors.Black;
    public SKColor SecondsColor { get; init; } = new(210, 20, 20);
    public SKColor Bezel { get; init; } = new(60, 60, 60);
    /// <summary>Bezel width as a fraction of the face radius (0 = none).</summary>
    public float BezelWidth { get; init; } = 0.06f;
    public bool Strap { get; init; }
    public SKColor StrapColor { get; init; } = new(70, 45, 30);
    public SKTypeface Font { get; init; } = Typefaces.Sans;
    /// <summary>Numeral height as a fraction of the face radius.</summary>
    public float NumeralSize { get; init; } = 0.17f;
    /// <summary>Small text under 12 (a brand name) or null.</summary>
    public string? Brand { get; init; }
    /// <summary>Hand width multiplier.</summary>
    public float HandWeight { get; init; } = 1f;
}
