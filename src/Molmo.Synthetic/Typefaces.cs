using SkiaSharp;

namespace Molmo.Synthetic;

/// <summary>The DejaVu faces the renderers use (installed with fontconfig; see stack notes §3). Typefaces are immutable and shared.</summary>
public static class Typefaces
{
    public static readonly SKTypeface Sans = Load("DejaVu Sans", SKFontStyle.Normal);
    public static readonly SKTypeface SansBold = Load("DejaVu Sans", SKFontStyle.Bold);
    public static readonly SKTypeface SansCondensed = Load("DejaVu Sans Condensed", SKFontStyle.Normal);
    public static readonly SKTypeface Serif = Load("DejaVu Serif", SKFontStyle.Normal);
    public static readonly SKTypeface SerifBold = Load("DejaVu Serif", SKFontStyle.Bold);
    public static readonly SKTypeface Mono = Load("DejaVu Sans Mono", SKFontStyle.Normal);
    public static readonly SKTypeface MonoBold = Load("DejaVu Sans Mono", SKFontStyle.Bold);

    public static readonly IReadOnlyList<SKTypeface> All = [Sans, SansBold, SansCondensed, Serif, SerifBold, Mono, MonoBold];

    static SKTypeface Load(string family, SKFontStyle style)
    {
        var tf = SKTypeface.FromFamilyName(family, style) ?? SKTypeface.Default;
        if (tf.GlyphCount == 0)
            throw new InvalidOperationException(
                $"font '{family}' has no glyphs: install fontconfig and the DejaVu fonts (apt-get install fontconfig fonts-dejavu-core fonts-dejavu-extra)");
        return tf;
    }
}
