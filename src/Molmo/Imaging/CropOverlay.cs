using SkiaSharp;

namespace Molmo.Imaging;

/// <summary>
/// Draws how an image is tiled (spec §3.4): each high-res crop's 336-px window mapped back onto the original image, with the
/// part whose features are kept (the crop minus its overlap margins) shaded — how a person checks what the model sees.
/// </summary>
public static class CropOverlay
{
    static readonly SKColor[] Palette =
        [new(230, 25, 75), new(60, 180, 75), new(0, 130, 200), new(245, 130, 48), new(145, 30, 180), new(70, 240, 240),
         new(240, 50, 230), new(210, 245, 60), new(250, 190, 212), new(0, 128, 128), new(220, 190, 255), new(170, 110, 40)];

    /// <summary>The crop windows and their kept regions in original-image pixels, row-major (crop k = i·C + j).</summary>
    public static IReadOnlyList<(SKRect Window, SKRect Kept)> Windows(int height, int width, ImageCropperOptions? options = null)
    {
        var o = options ?? ImageCropperOptions.Default;
        var cropper = new ImageCropper(o);
        var (rows, cols) = cropper.SelectTiling(height, width);
        int canvasH = rows * o.WindowPixels + o.MarginPixels, canvasW = cols * o.WindowPixels + o.MarginPixels;
        var (newH, newW) = ResizeAndPad.ScaledSize(height, width, canvasH, canvasW);
        float top = (canvasH - newH) / 2, left = (canvasW - newW) / 2;
        float sy = (float)height / newH, sx = (float)width / newW;
        int margin = o.OverlapMarginLeft * o.PatchSize;   // 56 px of overlap on interior edges
        var result = new List<(SKRect, SKRect)>();
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
            {
                float y0 = i * o.WindowPixels, x0 = j * o.WindowPixels;
                SKRect ToOriginal(float a, float b, float c, float d) =>
                    new((b - left) * sx, (a - top) * sy, (d - left) * sx, (c - top) * sy);
                var window = ToOriginal(y0, x0, y0 + o.BaseImageSize, x0 + o.BaseImageSize);
                float ky0 = y0 + (i == 0 ? 0 : margin), ky1 = y0 + o.BaseImageSize - (i == rows - 1 ? 0 : margin);
                float kx0 = x0 + (j == 0 ? 0 : margin), kx1 = x0 + o.BaseImageSize - (j == cols - 1 ? 0 : margin);
                result.Add((window, ToOriginal(ky0, kx0, ky1, kx1)));
            }
        return result;
    }

    /// <summary>The image with every crop window outlined and its kept region shaded; PNG bytes.</summary>
    public static byte[] RenderPng(RgbImage image, ImageCropperOptions? options = null)
    {
        SkiaNative.Ensure();
        var windows = Windows(image.Height, image.Width, options);
        using var bmp = new SKBitmap(new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        unsafe
        {
            byte* dst = (byte*)bmp.GetPixels();
            var src = image.Pixels;
            for (long p = 0, n = (long)image.Width * image.Height; p < n; p++)
            {
                dst[p * 4] = src[p * 3]; dst[p * 4 + 1] = src[p * 3 + 1]; dst[p * 4 + 2] = src[p * 3 + 2]; dst[p * 4 + 3] = 255;
            }
        }
        using (var canvas = new SKCanvas(bmp))
        {
            float stroke = Math.Max(2f, Math.Min(image.Width, image.Height) / 200f);
            using var font = new SKFont(SKTypeface.Default, Math.Max(12f, stroke * 7));
            for (int k = 0; k < windows.Count; k++)
            {
                var color = Palette[k % Palette.Length];
                using var fill = new SKPaint { Color = color.WithAlpha(40), Style = SKPaintStyle.Fill };
                using var line = new SKPaint { Color = color, Style = SKPaintStyle.Stroke, StrokeWidth = stroke, IsAntialias = true };
                using var ink = new SKPaint { Color = color, IsAntialias = true };
                canvas.DrawRect(windows[k].Kept, fill);
                canvas.DrawRect(windows[k].Window, line);
                // Label inside the visible part of the window (windows of edge crops extend into the padding).
                canvas.DrawText($"{k}", Math.Max(windows[k].Window.Left, 0) + stroke * 2, Math.Max(windows[k].Window.Top, 0) + font.Size + stroke,
                                SKTextAlign.Left, font, ink);
            }
        }
        using var img = SKImage.FromBitmap(bmp);
        using var data = img.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
