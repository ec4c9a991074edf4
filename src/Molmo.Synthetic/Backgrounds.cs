using SkiaSharp;

namespace Molmo.Synthetic;

/// <summary>Varied light/dark backgrounds: solid, gradient, stripes, checks, paper noise, soft blobs.</summary>
public static class Backgrounds
{
    public static readonly IReadOnlyList<string> Kinds = ["solid", "linear_gradient", "radial_gradient", "stripes", "checks", "noise", "blobs"];

    /// <summary>Fills the whole canvas. <paramref name="light"/> keeps the background light enough for saturated objects.</summary>
    public static string Draw(SKCanvas canvas, int width, int height, SyntheticRandom rng, bool light = true, string? kind = null)
    {
        kind ??= rng.Pick(Kinds);
        double hue = rng.Uniform(0, 360);
        SKColor Base(double dv = 0) => light
            ? NamedColor.Hsv(hue, rng.Uniform(0.03, 0.22), Math.Clamp(rng.Uniform(0.86, 0.99) + dv, 0, 1))
            : NamedColor.Hsv(hue, rng.Uniform(0.1, 0.6), Math.Clamp(rng.Uniform(0.12, 0.35) + dv, 0, 1));
        var c1 = Base();
        var c2 = Base(-0.06);
        using var paint = new SKPaint { IsAntialias = true };
        switch (kind)
        {
            case "solid":
                canvas.Clear(c1);
                break;
            case "linear_gradient":
                paint.Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(width * rng.UniformF(0, 1), height),
                    [c1, c2], SKShaderTileMode.Clamp);
                canvas.DrawRect(0, 0, width, height, paint);
                break;
            case "radial_gradient":
                paint.Shader = SKShader.CreateRadialGradient(new SKPoint(width * rng.UniformF(0.2f, 0.8f), height * rng.UniformF(0.2f, 0.8f)),
                    Math.Max(width, height) * 0.8f, [c1, c2], SKShaderTileMode.Clamp);
                canvas.DrawRect(0, 0, width, height, paint);
                break;
            case "stripes":
            {
                canvas.Clear(c1);
                float w = Math.Max(width, height) * rng.UniformF(0.03f, 0.08f);
                paint.Color = c2;
                canvas.Save();
                canvas.RotateDegrees(rng.UniformF(-60, 60), width / 2f, height / 2f);
                float ext = width + height;
                for (float x = -ext; x < ext; x += 2 * w) canvas.DrawRect(x, -ext, w, 3 * ext, paint);
                canvas.Restore();
                break;
            }
            case "checks":
            {
                canvas.Clear(c1);
                float w = Math.Max(width, height) * rng.UniformF(0.05f, 0.12f);
                paint.Color = c2;
                for (int i = 0; i * w < width; i++)
                    for (int j = 0; j * w < height; j++)
                        if ((i + j) % 2 == 0) canvas.DrawRect(i * w, j * w, w, w, paint);
                break;
            }
            case "noise":
            {
                canvas.Clear(c1);
                // Perlin noise and big blurs are smooth: draw them at quarter resolution and scale up (4–10× cheaper).
                using var low = LowRes(width, height, out float f);
                low.Canvas.Clear(new SKColor(128, 128, 128)); // neutral under Overlay
                paint.Shader = SKShader.CreatePerlinNoiseFractalNoise(rng.UniformF(0.005f, 0.05f) / f, rng.UniformF(0.005f, 0.05f) / f, 3, rng.UniformF(0, 100));
                low.Canvas.DrawRect(0, 0, width * f, height * f, paint);
                using var img = low.Snapshot();
                using var overlay = new SKPaint { BlendMode = SKBlendMode.Overlay, Color = SKColors.Black.WithAlpha(90) };
                canvas.DrawImage(img, new SKRect(0, 0, width, height), new SKSamplingOptions(SKFilterMode.Linear), overlay);
                break;
            }
            default: // blobs
            {
                canvas.Clear(c1);
                using var low = LowRes(width, height, out float f);
                low.Canvas.Clear(c1);
                paint.MaskFilter = SKMaskFilter.CreateBlur(SKBlurStyle.Normal, Math.Max(width, height) * 0.05f * f);
                int n = rng.Int(3, 8);
                for (int i = 0; i < n; i++)
                {
                    paint.Color = Base(-rng.Uniform(0, 0.1)).WithAlpha(200);
                    low.Canvas.DrawCircle(rng.UniformF(0, width) * f, rng.UniformF(0, height) * f, Math.Max(width, height) * rng.UniformF(0.08f, 0.3f) * f, paint);
                }
                using var img = low.Snapshot();
                canvas.DrawImage(img, new SKRect(0, 0, width, height), new SKSamplingOptions(SKFilterMode.Linear));
                break;
            }
        }
        return kind;
    }

    /// <summary>A surface at about a quarter of the size (<paramref name="f"/> = scale factor from full size).</summary>
    static SKSurface LowRes(int width, int height, out float f)
    {
        f = 0.25f;
        return ImageEncoding.NewSurface(Math.Max(1, (int)Math.Ceiling(width * f)), Math.Max(1, (int)Math.Ceiling(height * f)));
    }
}
