using Molmo.Synthetic.Clocks;
using SkiaSharp;

namespace Molmo.Synthetic.Tests;

public class ClockTests
{
    [Fact]
    public void AnswersFollowPixmoClocksFormatAndMatchHandAngles()
    {
        for (int i = 0; i < 120; i++)
        {
            var ex = ClockGenerator.Generate(11, i, 64);
            var row = ex.Row;
            Assert.Equal("What time is being shown?", row.Question);
            // Read the time back from the hand angles alone, as a person reading the dial would.
            int minute = (int)Math.Floor(row.MinuteHandAngle / 6.0 + 1e-9) % 60;
            int hour = (int)Math.Floor(row.HourHandAngle / 30.0 + 1e-9) % 12;
            string expected = $"The time shown is {(hour == 0 ? 12 : hour)}:{minute:00}";
            if (row.SecondHandAngle is { } sa)
            {
                Assert.True(row.ShowsSeconds);
                expected += $":{(int)Math.Round(sa / 6.0) % 60:00}";
            }
            else Assert.False(row.ShowsSeconds);
            Assert.Equal(expected, row.Answer);
            Assert.Equal(row.Answer, "The time shown is " + row.Text);
            // The hands move continuously: the hour hand sits between hour and hour+1 in proportion to the minutes.
            Assert.Equal(30.0 * row.HourVisible + 0.5 * (row.MinuteVisible + row.SecondDrawn / 60.0), row.HourHandAngle, 6);
            Assert.Equal(6.0 * (row.MinuteVisible + row.SecondDrawn / 60.0), row.MinuteHandAngle, 6);
            Assert.Equal(row.ShowsSeconds ? row.SecondDrawn : -1, row.SecondVisible);
            Assert.Equal(ex.Style.SecondsHand, row.ShowsSeconds);
            var read = ClockTime.FromHandAngles(row.HourHandAngle, row.MinuteHandAngle, row.SecondHandAngle);
            Assert.Equal(ex.Time with { Second = row.ShowsSeconds ? ex.Time.Second : 0 }, read);
            Assert.Equal(64, ex.Pose.RadiusPx > 0 ? row.ImageWidth : -1);
        }
    }

    [Fact]
    public void HourZeroReadsAsTwelveAndFieldsArePadded()
    {
        Assert.Equal("12:05", new ClockTime(0, 5, 9, false).Text);
        Assert.Equal("12:05:09", new ClockTime(0, 5, 9, true).Text);
        Assert.Equal("The time shown is 7:57:39", new ClockTime(7, 57, 39, true).Answer);
    }

    [Fact]
    public void AtLeastTwentyDistinctStylesAreUsed()
    {
        Assert.True(ClockStyles.Presets.Count >= 20);
        Assert.Equal(ClockStyles.Presets.Count, ClockStyles.Presets.Select(s => s.Name).Distinct().Count());
        var names = Enumerable.Range(0, 300).Select(i => ClockGenerator.Generate(5, i, 32).Row.WatchfaceName).Distinct().Count();
        Assert.True(names >= 20, $"only {names} styles in 300 clocks");
        // The presets cover every numeral kind, every hand shape and every tick kind.
        Assert.Equal(Enum.GetValues<NumeralKind>().Length, ClockStyles.Presets.Select(s => s.Numerals).Distinct().Count());
        Assert.Equal(Enum.GetValues<HandShape>().Length, ClockStyles.Presets.Select(s => s.Hands).Distinct().Count());
        Assert.Equal(Enum.GetValues<TickKind>().Length, ClockStyles.Presets.Select(s => s.Ticks).Distinct().Count());
    }

    [Theory]
    [InlineData(3, 40)]
    [InlineData(10, 10)]
    [InlineData(6, 0)]
    public void MinuteHandIsDrawnAtItsAngle(int hour, int minute)
    {
        // A plain face, straight on: the pixel 60 % along the minute hand has the hand colour, the mirrored pixel has not.
        var style = ClockStyles.Presets.First(s => s.Name == "minimal_dots") with { HandColor = new SKColor(200, 0, 0), SecondsHand = false };
        var time = new ClockTime(hour, minute, 0, false);
        const int size = 200;
        using var surface = ImageEncoding.NewSurface(size, size);
        surface.Canvas.Clear(SKColors.White);
        ClockRenderer.Draw(surface.Canvas, style, time, new ClockPose(100, 100, 90, 0, 0, 0, false, 0, false));
        using var bmp = SKBitmap.Decode(ImageEncoding.Png(surface));
        float rf = 90 * (1 - style.BezelWidth);
        SKColor At(double angleDeg, double r)
        {
            double a = angleDeg * Math.PI / 180;
            return bmp.GetPixel((int)Math.Round(100 + Math.Sin(a) * r), (int)Math.Round(100 - Math.Cos(a) * r));
        }
        var on = At(time.MinuteHandAngle, rf * 0.65);
        Assert.True(on.Red > 150 && on.Green < 80, $"expected the red hand at {time.MinuteHandAngle}°, got {on}");
        var off = At(time.MinuteHandAngle + 180, rf * 0.65);
        Assert.False(off.Red > 150 && off.Green < 80, $"hand colour found opposite the minute hand: {off}");
    }
}
