using SkiaSharp;

namespace Molmo.Points;

/// <summary>Draws points on an image as numbered markers (how a person checks a pointing answer) and saves a PNG.</summary>
public static class PointOverlay
{
    /// <summary>Renders <paramref name="points"/> on an RGB image (H×W×3 bytes) and returns PNG bytes.</summary>
    public static byte[] RenderPng(int width, int height, ReadOnlySpan<byte> rgb, IReadOnlyList<MolmoPoint> points)
    {
        if (rgb.Length != width * height * 3) throw new ArgumentException($"expected {width * height * 3} RGB bytes, got {rgb.Length}");
        Molmo.Imaging.SkiaNative.Ensure();
        using var bmp = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        unsafe
        {
            fixed (byte* src = rgb)
            {
                byte* dst = (byte*)bmp.GetPixels();
                for (long i = 0, n = (long)width * height; i < n; i++)
                {
                    dst[i * 4] = src[i * 3]; dst[i * 4 + 1] = src[i * 3 + 1]; dst[i * 4 + 2] = src[i * 3 + 2]; dst[i * 4 + 3] = 255;
                }
            }
        }
        using (var canvas = new SKCanvas(bmp))
        {
            float r = Math.Clamp(Math.Min(width, height) / 40f, 6f, 28f);
            using var fill = new SKPaint { Color = new SKColor(230, 30, 60, 220), IsAntialias = true, Style = SKPaintStyle.Fill };
            using var ring = new SKPaint { Color = SKColors.White, IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeWidth = Math.Max(2f, r / 6) };
            using var textPaint = new SKPaint { Color = SKColors.White, IsAntialias = true };
            using var font = new SKFont(SKTypeface.Default, r * 1.1f);
            foreach (var p in points)
            {
                var (x, y) = p.ToPixels(width, height);
                canvas.DrawCircle((float)x, (float)y, r, fill);
                canvas.DrawCircle((float)x, (float)y, r, ring);
                var label = (p.Index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
                canvas.DrawText(label, (float)x, (float)y + r * 0.4f, SKTextAlign.Center, font, textPaint);
            }
        }
        using var img = SKImage.FromBitmap(bmp);
        using var data = img.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
