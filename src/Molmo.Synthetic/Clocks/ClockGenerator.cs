using SkiaSharp;
using Molmo.Synthetic.Parquet;

namespace Molmo.Synthetic.Clocks;

/// <summary>One generated clock: the row (with PNG bytes) plus the style and pose it was drawn with.</summary>
public sealed record ClockExample(ClockRow Row, ClockStyle Style, ClockTime Time, ClockPose Pose);

/// <summary>Synthetic PixMo-Clocks: a jittered preset face at a random time, pose, background, shadow and blur.</summary>
public static class ClockGenerator
{
    public static ClockExample Generate(long seed, long index, int size)
    {
        if (size < 32) throw new ArgumentOutOfRangeException(nameof(size), $"image size {size} px is too small (at least 32)");
        var rng = SyntheticRandom.ForRow(seed, index);
        var style = ClockStyles.Jitter(rng.Pick(ClockStyles.Presets), rng);
        var time = new ClockTime(rng.Int(0, 12), rng.Int(0, 60), rng.Int(0, 60), style.SecondsHand);

        // Pose: 15 % straight-on, else rotated; faces without numerals stay nearly upright (else 12 is ambiguous).
        float maxRot = style.Numerals == NumeralKind.None ? 12f : (rng.Chance(0.25) ? 50f : 25f);
        float rot = rng.Chance(0.15) ? 0f : rng.UniformF(-maxRot, maxRot);
        bool tilt = rng.Chance(0.45);
        // Corners of square/octagon faces and the near side of a tilted face reach past the radius: keep them inside.
        float reach = (style.Shape == FaceShape.Circle ? 1f : 1.25f) * (tilt ? 1.3f : 1f);
        float radius = size / 2f * rng.UniformF(0.5f, 0.95f) / reach;
        float slack = Math.Max(0, size / 2f - radius * reach);
        var pose = new ClockPose(
            CenterX: size / 2f + rng.UniformF(-slack, slack),
            CenterY: size / 2f + rng.UniformF(-slack, slack),
            RadiusPx: radius,
            RotationDeg: rot,
            TiltX: tilt ? rng.UniformF(-0.0022f, 0.0022f) : 0f,
            TiltY: tilt ? rng.UniformF(-0.0022f, 0.0022f) : 0f,
            Shadow: rng.Chance(0.5),
            BlurSigma: rng.Chance(0.2) ? rng.UniformF(0.3f, 1.3f) * size / 336f : 0f,
            Glare: rng.Chance(0.3));

        using var surface = ImageEncoding.NewSurface(size, size);
        var canvas = surface.Canvas;
        Backgrounds.Draw(canvas, size, size, rng, light: rng.Chance(0.75));
        ClockRenderer.Draw(canvas, style, time, pose);
        byte[] png;
        if (pose.BlurSigma > 0)
        {
            using var snap = surface.Snapshot();
            using var blurred = ImageEncoding.NewSurface(size, size);
            using var p = new SKPaint { ImageFilter = SKImageFilter.CreateBlur(pose.BlurSigma, pose.BlurSigma, SKShaderTileMode.Clamp) };
            blurred.Canvas.DrawImage(snap, 0, 0, SKSamplingOptions.Default, p);
            png = ImageEncoding.Png(blurred);
        }
        else png = ImageEncoding.Png(surface);

        var row = new ClockRow
        {
            ExampleId = $"clocks-{seed}-{index:D7}",
            Image = new ImageCell { Bytes = png, Path = $"clocks-{seed}-{index:D7}.png" },
            ImageWidth = size,
            ImageHeight = size,
            WatchfaceName = style.Name,
            ShowsSeconds = time.ShowsSeconds,
            HourVisible = time.Hour,
            MinuteVisible = time.Minute,
            SecondVisible = time.ShowsSeconds ? time.Second : -1,
            SecondDrawn = time.Second,
            Text = time.Text,
            Question = ClockTime.Question,
            Answer = time.Answer,
            HourHandAngle = time.HourHandAngle,
            MinuteHandAngle = time.MinuteHandAngle,
            SecondHandAngle = time.ShowsSeconds ? time.SecondHandAngle : null,
            RotationDeg = rot,
        };
        return new ClockExample(row, style, time, pose);
    }
}
