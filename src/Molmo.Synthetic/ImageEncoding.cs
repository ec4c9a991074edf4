using SkiaSharp;

namespace Molmo.Synthetic;

/// <summary>PNG encode/decode helpers.</summary>
public static class ImageEncoding
{
    public static byte[] Png(SKSurface surface)
    {
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    public static byte[] Png(SKBitmap bitmap)
    {
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>Decodes PNG/JPEG/WebP bytes; throws with <paramref name="what"/> in the message when they are not an image.</summary>
    public static SKBitmap Decode(byte[] bytes, string what)
    {
        var bmp = SKBitmap.Decode(bytes);
        if (bmp is null) throw new InvalidDataException($"{what}: the {bytes.Length} bytes are not a decodable image (PNG/JPEG/WebP expected)");
        return bmp;
    }

    public static SKSurface NewSurface(int width, int height)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        return SKSurface.Create(info) ?? throw new InvalidOperationException($"could not create a {width}x{height} drawing surface");
    }
}
