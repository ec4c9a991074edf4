using SkiaSharp;

namespace Molmo.Synthetic.Clocks;

/// <summary>The preset faces (24 distinct designs) and the per-example jitter applied to them.</summary>
public static class ClockStyles
{
    static SKColor C(uint rgb) => new((byte)(rgb >> 16), (byte)(rgb >> 8), (byte)rgb);

    public static readonly IReadOnlyList<ClockStyle> Presets =
    [
        new() { Name = "classic_arabic", Numerals = NumeralKind.Arabic, Ticks = TickKind.HoursAndMinutes, Hands = HandShape.Tapered, SecondsHand = true },
        new() { Name = "roman_ivory", Numerals = NumeralKind.RomanClassic4, Ticks = TickKind.HoursAndMinutes, Hands = HandShape.Leaf, Face = C(0xF6EFD9), Ink = C(0x2B2118), HandColor = C(0x2B2118), Bezel = C(0xB08D3C), Font = Typefaces.Serif },
        new() { Name = "minimal_dots", Numerals = NumeralKind.None, Ticks = TickKind.Dots, Hands = HandShape.Line, Face = C(0xF2F2F2), HandColor = C(0x222222), BezelWidth = 0.02f, Bezel = C(0xBBBBBB) },
        new() { Name = "railway", Numerals = NumeralKind.None, Ticks = TickKind.RailwayMinutes, Hands = HandShape.Baton, SecondsHand = true, BezelWidth = 0.08f, Bezel = C(0x111111), HandWeight = 1.3f },
        new() { Name = "dive_black", Numerals = NumeralKind.Quarters, Ticks = TickKind.HoursAndMinutes, Hands = HandShape.Sword, SecondsHand = true, Face = C(0x101418), Ink = C(0xF0F0F0), HandColor = C(0xF5F5F0), SecondsColor = C(0xFF7A00), Bezel = C(0x1F3A68), BezelWidth = 0.14f, Strap = true, StrapColor = C(0x1A1A1A) },
        new() { Name = "pilot", Numerals = NumeralKind.Arabic, Ticks = TickKind.HoursAndMinutes, Hands = HandShape.Sword, Face = C(0x1C1C1C), Ink = C(0xFFFFFF), HandColor = C(0xFFFFFF), Bezel = C(0x8A8A8A), Strap = true, StrapColor = C(0x5A3B22), Font = Typefaces.SansBold, NumeralSize = 0.2f },
        new() { Name = "modern_square", Numerals = NumeralKind.Quarters, Ticks = TickKind.Hours, Hands = HandShape.Baton, Shape = FaceShape.RoundedSquare, Face = C(0xFAFAFA), Bezel = C(0x303030), Font = Typefaces.SansBold },
        new() { Name = "kitchen_red", Numerals = NumeralKind.Arabic, Ticks = TickKind.Hours, Hands = HandShape.Arrow, Bezel = C(0xC8102E), BezelWidth = 0.12f, NumeralSize = 0.19f },
        new() { Name = "vintage_roman", Numerals = NumeralKind.Roman, RadialNumerals = true, Ticks = TickKind.HoursAndMinutes, Hands = HandShape.Leaf, Face = C(0xEFE3C2), FaceGradient = C(0xD9C48E), Ink = C(0x3A2A14), HandColor = C(0x1E1E1E), Bezel = C(0x8C6A2F), Font = Typefaces.SerifBold },
        new() { Name = "sport_orange", Numerals = NumeralKind.Arabic, Ticks = TickKind.HoursAndMinutes, Hands = HandShape.Baton, SecondsHand = true, Face = C(0x202226), Ink = C(0xFF8C1A), HandColor = C(0xF2F2F2), SecondsColor = C(0xFF8C1A), Bezel = C(0x3A3D42), Strap = true, StrapColor = C(0x2E2E2E), Font = Typefaces.SansBold },
        new() { Name = "navy_baton", Numerals = NumeralKind.None, Ticks = TickKind.Hours, Hands = HandShape.Baton, Face = C(0x14284B), FaceGradient = C(0x0A1630), Ink = C(0xE8E8E8), HandColor = C(0xE8E8E8), Bezel = C(0xC0C0C0), Strap = true, StrapColor = C(0x3B2A1E), HandWeight = 1.2f },
        new() { Name = "blueprint", Numerals = NumeralKind.Arabic, Ticks = TickKind.HoursAndMinutes, Hands = HandShape.Skeleton, Face = C(0x1F4E8C), Ink = C(0xFFFFFF), HandColor = C(0xFFFFFF), Bezel = C(0xDDE6F0), BezelWidth = 0.03f, Font = Typefaces.Mono },
        new() { Name = "neon_dark", Numerals = NumeralKind.Quarters, Ticks = TickKind.Dots, Hands = HandShape.Line, SecondsHand = true, Face = C(0x0B0B12), Ink = C(0x39FF14), HandColor = C(0x00E5FF), SecondsColor = C(0xFF2D95), Bezel = C(0x2A2A3A), HandWeight = 1.2f },
        new() { Name = "school_wall", Numerals = NumeralKind.Arabic, Ticks = TickKind.HoursAndMinutes, Hands = HandShape.Baton, SecondsHand = true, Bezel = C(0x1A1A1A), BezelWidth = 0.1f, NumeralSize = 0.2f, Font = Typefaces.SansBold },
        new() { Name = "skeleton_white", Numerals = NumeralKind.Roman, Ticks = TickKind.Hours, Hands = HandShape.Skeleton, Face = C(0xFFFFFF), Ink = C(0x333333), HandColor = C(0x1C3F94), Bezel = C(0x9FA6AD), Font = Typefaces.Serif },
        new() { Name = "luxury_gold", Numerals = NumeralKind.None, Ticks = TickKind.QuarterBars, Hands = HandShape.Leaf, Face = C(0x0E3B2E), FaceGradient = C(0x062019), Ink = C(0xE2C46C), HandColor = C(0xE9CF7A), Bezel = C(0xC9A53C), BezelWidth = 0.09f, Strap = true, StrapColor = C(0x1B1B1B), Brand = "AURELIA" },
        new() { Name = "pastel_kids", Numerals = NumeralKind.Arabic, Ticks = TickKind.None, Hands = HandShape.Arrow, Face = C(0xFFF4D6), Ink = C(0x2A4D9B), HandColor = C(0xD8345F), Bezel = C(0x7BC8A4), BezelWidth = 0.14f, NumeralSize = 0.22f, Font = Typefaces.SansBold, HandWeight = 1.4f },
        new() { Name = "quarter_arabic", Numerals = NumeralKind.Quarters, Ticks = TickKind.HoursAndMinutes, Hands = HandShape.Tapered, SecondsHand = true, Face = C(0xE9EEF2), Bezel = C(0x555F69), Font = Typefaces.SansCondensed, NumeralSize = 0.22f },
        new() { Name = "radial_arabic", Numerals = NumeralKind.Arabic, RadialNumerals = true, Ticks = TickKind.HoursAndMinutes, Hands = HandShape.Sword, Face = C(0xF7F7F2), HandColor = C(0x222222), Bezel = C(0x2D2D2D), Font = Typefaces.Sans },
        new() { Name = "art_deco", Numerals = NumeralKind.QuarterRoman, Ticks = TickKind.QuarterBars, Hands = HandShape.Arrow, Shape = FaceShape.Octagon, Face = C(0xF3E9D2), Ink = C(0x1A1A1A), HandColor = C(0x1A1A1A), Bezel = C(0xB8860B), BezelWidth = 0.1f, Font = Typefaces.SerifBold, NumeralSize = 0.2f },
        new() { Name = "field_green", Numerals = NumeralKind.Arabic, Ticks = TickKind.HoursAndMinutes, Hands = HandShape.Sword, SecondsHand = true, Face = C(0x3B4A2F), Ink = C(0xF1EBD8), HandColor = C(0xF1EBD8), SecondsColor = C(0xE0B040), Bezel = C(0x9A9A9A), Strap = true, StrapColor = C(0x4B5320), Font = Typefaces.MonoBold },
        new() { Name = "pocket_watch", Numerals = NumeralKind.Roman, Ticks = TickKind.RailwayMinutes, Hands = HandShape.Leaf, SecondsHand = true, Face = C(0xFFFDF5), Ink = C(0x111111), HandColor = C(0x0F2E6B), Bezel = C(0xC9A14A), BezelWidth = 0.12f, Font = Typefaces.Serif, Brand = "1894" },
        new() { Name = "chrono_silver", Numerals = NumeralKind.Arabic, Ticks = TickKind.RailwayMinutes, Hands = HandShape.Tapered, SecondsHand = true, Face = C(0xDADDE1), FaceGradient = C(0xA9AEB4), Ink = C(0x15181C), HandColor = C(0x15181C), Bezel = C(0x6E737A), BezelWidth = 0.1f, Strap = true, StrapColor = C(0x8F959C), Brand = "CHRONO" },
        new() { Name = "square_roman", Numerals = NumeralKind.Roman, Ticks = TickKind.Dots, Hands = HandShape.Baton, Shape = FaceShape.RoundedSquare, Face = C(0xFFFFFF), Ink = C(0x7A1F1F), HandColor = C(0x222222), Bezel = C(0x7A1F1F), BezelWidth = 0.07f, Font = Typefaces.Serif },
    ];

    /// <summary>A preset with randomised colours, bezel, hands and numerals (hands always contrast with the face).</summary>
    public static ClockStyle Jitter(ClockStyle s, SyntheticRandom rng)
    {
        var style = s;
        if (rng.Chance(0.35))
        {
            // Recolour the face; keep ink and hands readable against it.
            bool dark = rng.Chance(0.4);
            var face = NamedColor.Hsv(rng.Uniform(0, 360), rng.Uniform(0, 0.5), dark ? rng.Uniform(0.08, 0.3) : rng.Uniform(0.82, 1));
            var ink = dark ? NamedColor.Hsv(rng.Uniform(0, 360), rng.Uniform(0, 0.3), rng.Uniform(0.85, 1)) : NamedColor.Hsv(rng.Uniform(0, 360), rng.Uniform(0, 0.6), rng.Uniform(0, 0.3));
            style = style with { Face = face, FaceGradient = rng.Chance(0.3) ? Shade(face, dark ? 0.6f : 0.85f) : null, Ink = ink, HandColor = rng.Chance(0.7) ? ink : HandFor(face, rng) };
        }
        if (rng.Chance(0.3)) style = style with { Bezel = NamedColor.Hsv(rng.Uniform(0, 360), rng.Uniform(0, 0.8), rng.Uniform(0.1, 0.9)) };
        if (rng.Chance(0.3)) style = style with { BezelWidth = rng.Chance(0.2) ? 0 : rng.UniformF(0.02f, 0.15f) };
        if (rng.Chance(0.25)) style = style with { Strap = !style.Strap, StrapColor = NamedColor.Hsv(rng.Uniform(0, 360), rng.Uniform(0, 0.7), rng.Uniform(0.1, 0.6)) };
        if (rng.Chance(0.2)) style = style with { SecondsHand = !style.SecondsHand };
        if (rng.Chance(0.2)) style = style with { Hands = (HandShape)rng.Int(0, Enum.GetValues<HandShape>().Length) };
        if (rng.Chance(0.15)) style = style with { Font = rng.Pick(Typefaces.All) };
        style = style with { NumeralSize = style.NumeralSize * rng.UniformF(0.85f, 1.12f), HandWeight = style.HandWeight * rng.UniformF(0.8f, 1.25f) };
        // Contrast guard: the hands must stand out from the face whatever the jitter did.
        if (Math.Abs(NamedColor.Luminance(style.HandColor) - NamedColor.Luminance(style.Face)) < 0.45)
            style = style with { HandColor = NamedColor.Luminance(style.Face) > 0.5 ? new SKColor(20, 20, 20) : new SKColor(245, 245, 245) };
        if (Math.Abs(NamedColor.Luminance(style.Ink) - NamedColor.Luminance(style.Face)) < 0.4)
            style = style with { Ink = NamedColor.Luminance(style.Face) > 0.5 ? new SKColor(25, 25, 25) : new SKColor(240, 240, 240) };
        return style;
    }

    static SKColor HandFor(SKColor face, SyntheticRandom rng) =>
        NamedColor.Luminance(face) > 0.5
            ? NamedColor.Hsv(rng.Uniform(0, 360), rng.Uniform(0.3, 0.9), rng.Uniform(0.1, 0.35))
            : NamedColor.Hsv(rng.Uniform(0, 360), rng.Uniform(0, 0.4), rng.Uniform(0.85, 1));

    static SKColor Shade(SKColor c, float f) => new((byte)(c.Red * f), (byte)(c.Green * f), (byte)(c.Blue * f));
}
