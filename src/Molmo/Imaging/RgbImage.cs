namespace Molmo.Imaging;

/// <summary>An 8-bit RGB image: <see cref="Pixels"/> holds Height × Width × 3 bytes, row-major, channels R, G, B.</summary>
public sealed class RgbImage
{
    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>The pixels, H×W×3 (R, G, B), row-major.</summary>
    public byte[] Pixels { get; }

    internal RgbImage(int width, int height, byte[] pixels)
    {
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    /// <summary>
    /// Wraps an existing H×W×3 RGB byte array (not copied). Throws <see cref="ArgumentException"/> when the length does not match
    /// and <see cref="InvalidDataException"/> when the size is outside <see cref="ImageLimits"/>.
    /// </summary>
    public static RgbImage FromRgb(int width, int height, byte[] rgb)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        ImageLimits.Check(width, height, "RGB buffer");
        long expected = (long)width * height * 3;
        if (rgb.LongLength != expected)
            throw new ArgumentException(
                $"RGB buffer has {rgb.LongLength} bytes but a {width}×{height} RGB image needs {expected} (width × height × 3).", nameof(rgb));
        return new RgbImage(width, height, rgb);
    }

    /// <summary>The (R, G, B) value at column <paramref name="x"/>, row <paramref name="y"/>.</summary>
    public (byte R, byte G, byte B) this[int x, int y]
    {
        get
        {
            if ((uint)x >= (uint)Width || (uint)y >= (uint)Height)
                throw new ArgumentOutOfRangeException(nameof(x), $"pixel ({x}, {y}) is outside the {Width}×{Height} image");
            int o = (y * Width + x) * 3;
            return (Pixels[o], Pixels[o + 1], Pixels[o + 2]);
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"RgbImage {Width}×{Height}";
}
