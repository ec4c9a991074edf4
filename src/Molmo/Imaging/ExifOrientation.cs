using SkiaSharp;

namespace Molmo.Imaging;

/// <summary>Applies an EXIF orientation (1–8) to an RGB image so that it displays upright, like PIL's <c>ImageOps.exif_transpose</c>.</summary>
public static class ExifOrientation
{
    /// <summary>Returns the upright image for pixels stored with orientation <paramref name="origin"/> (the input itself for TopLeft).</summary>
    public static RgbImage Apply(RgbImage image, SKEncodedOrigin origin)
    {
        ArgumentNullException.ThrowIfNull(image);
        int w = image.Width, h = image.Height;
        bool swap = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        if (origin == SKEncodedOrigin.TopLeft) return image;
        int dw = swap ? h : w, dh = swap ? w : h;
        byte[] src = image.Pixels;
        byte[] dst = new byte[src.Length];
        Parallel.For(0, dh, dy =>
        {
            for (int dx = 0; dx < dw; dx++)
            {
                // Source pixel shown at (dx, dy) of the upright image.
                (int sx, int sy) = origin switch
                {
                    SKEncodedOrigin.TopRight => (w - 1 - dx, dy),               // 2: mirror horizontally
                    SKEncodedOrigin.BottomRight => (w - 1 - dx, h - 1 - dy),    // 3: rotate 180°
                    SKEncodedOrigin.BottomLeft => (dx, h - 1 - dy),             // 4: mirror vertically
                    SKEncodedOrigin.LeftTop => (dy, dx),                        // 5: transpose
                    SKEncodedOrigin.RightTop => (dy, h - 1 - dx),               // 6: rotate 90° clockwise
                    SKEncodedOrigin.RightBottom => (w - 1 - dy, h - 1 - dx),    // 7: transverse
                    SKEncodedOrigin.LeftBottom => (w - 1 - dy, dx),             // 8: rotate 90° counter-clockwise
                    _ => throw new ArgumentOutOfRangeException(nameof(origin), origin, "unknown EXIF orientation"),
                };
                int so = (sy * w + sx) * 3, d = (dy * dw + dx) * 3;
                dst[d] = src[so];
                dst[d + 1] = src[so + 1];
                dst[d + 2] = src[so + 2];
            }
        });
        return new RgbImage(dw, dh, dst);
    }
}
