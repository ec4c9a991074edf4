using System.Globalization;

namespace Molmo.Synthetic.Clocks;

/// <summary>
/// A time on a 12-hour analog dial (<paramref name="Hour"/> 0–11, 0 drawn and read as 12) and the hand angles it implies
/// (degrees clockwise from 12; the hour and minute hands move continuously).
/// </summary>
public readonly record struct ClockTime(int Hour, int Minute, int Second, bool ShowsSeconds)
{
    public double HourHandAngle => 30.0 * Hour + 0.5 * Minute + Second / 120.0;
    public double MinuteHandAngle => 6.0 * Minute + 0.1 * Second;
    public double SecondHandAngle => 6.0 * Second;

    /// <summary>"H:MM" or "H:MM:SS" (hour not padded, 0 → 12), the PixMo-Clocks <c>text</c>.</summary>
    public string Text
    {
        get
        {
            int h = Hour == 0 ? 12 : Hour;
            var t = string.Create(CultureInfo.InvariantCulture, $"{h}:{Minute:00}");
            return ShowsSeconds ? string.Create(CultureInfo.InvariantCulture, $"{t}:{Second:00}") : t;
        }
    }

    public const string Question = "What time is being shown?";

    /// <summary>PixMo-Clocks answer: "The time shown is H:MM[:SS]" (no AM/PM: an analog dial cannot show it).</summary>
    public string Answer => $"The time shown is {Text}";

    /// <summary>Reads the time back from hand angles (what a perfect reader of the dial would say).</summary>
    public static ClockTime FromHandAngles(double hourAngle, double minuteAngle, double? secondAngle)
    {
        static double Norm(double a) => ((a % 360) + 360) % 360;
        int minute = (int)Math.Floor(Norm(minuteAngle) / 6.0 + 1e-9) % 60;
        int hour = (int)Math.Floor(Norm(hourAngle) / 30.0 + 1e-9) % 12;
        int second = secondAngle is { } s ? (int)Math.Round(Norm(s) / 6.0) % 60 : 0;
        return new ClockTime(hour, minute, second, secondAngle.HasValue);
    }
}
