namespace Molmo.Imaging;

/// <summary>Size limits applied to every image before its pixels are decoded or used.</summary>
public static class ImageLimits
{
    /// <summary>Largest accepted width or height, in pixels.</summary>
    public const int MaxSide = 20_000;

    /// <summary>Largest accepted pixel count (width × height): 100 megapixels.</summary>
    public const long MaxPixels = 100_000_000;

    /// <summary>Throws <see cref="InvalidDataException"/> naming <paramref name="source"/> when the size is outside the limits.</summary>
    public static void Check(int width, int height, string source)
    {
        if (width < 1 || height < 1)
            throw new InvalidDataException($"{source}: image size {width}×{height} is invalid (each side must be at least 1 pixel).");
        if (width > MaxSide || height > MaxSide)
            throw new InvalidDataException(
                $"{source}: image size {width}×{height} exceeds the limit of {MaxSide} pixels per side; downscale the image first.");
        if ((long)width * height > MaxPixels)
            throw new InvalidDataException(
                $"{source}: image size {width}×{height} = {(long)width * height:N0} pixels exceeds the limit of {MaxPixels:N0} pixels (100 MP); downscale the image first.");
    }
}
