using System.Globalization;
using Molmo.Data.Datasets;

namespace Molmo.Data.Formats;

/// <summary>
/// The PixMo-Clocks question and answer (pixmo-data-and-eval.md §3.1), reusable by clock generators.
/// Answer: <c>The time shown is H:MM[:SS][ AM|PM]</c>, hour in 12-hour form without padding (0 → 12), minutes and
/// seconds zero-padded; or <c>The time is not shown in the image.</c>
/// </summary>
public static class ClockAnswer
{
    public const string Prompt = "What time is being shown?";
    public const string Style = "clocks";
    public const string NotShownAnswer = "The time is not shown in the image.";
    public const string WithAmPm = "With AM/PM";

    /// <summary>
    /// The readable time, e.g. <c>7:57:39 AM</c>. <paramref name="hour"/> is 0–23.
    /// The reference labels 12:xx (noon) as AM because its PM test is <c>hour &gt; 12</c>; that is fixed here (12 → PM)
    /// unless <paramref name="reproduceNoonAmBug"/> is set.
    /// </summary>
    public static string TimeText(int hour, int minute, int? second, bool withAmPm, bool reproduceNoonAmBug = false)
    {
        if (hour is < 0 or > 23) throw new ArgumentOutOfRangeException(nameof(hour), hour, "hour must be 0–23");
        if (minute is < 0 or > 59) throw new ArgumentOutOfRangeException(nameof(minute), minute, "minute must be 0–59");
        if (second is < 0 or > 59) throw new ArgumentOutOfRangeException(nameof(second), second, "second must be 0–59");
        int h12 = hour % 12 == 0 ? 12 : hour % 12;
        var text = string.Create(CultureInfo.InvariantCulture, $"{h12}:{minute:00}");
        if (second is int s) text += string.Create(CultureInfo.InvariantCulture, $":{s:00}");
        if (withAmPm)
        {
            bool pm = reproduceNoonAmBug ? hour > 12 : hour >= 12;
            text += pm ? " PM" : " AM";
        }
        return text;
    }

    /// <summary>The full answer for a visible time.</summary>
    public static string Answer(int hour, int minute, int? second, bool withAmPm, bool reproduceNoonAmBug = false) =>
        "The time shown is " + TimeText(hour, minute, second, withAmPm, reproduceNoonAmBug);

    /// <summary>The answer for a <c>pixmo-clocks</c> row (not shown when the hour or minute is −1).</summary>
    public static string Answer(PixmoClocksRow row, bool reproduceNoonAmBug = false)
    {
        if (row.HourVisible < 0 || row.MinuteVisible < 0) return NotShownAnswer;
        int? second = row.ShowsSeconds && row.SecondVisible >= 0 ? row.SecondVisible : null;
        return Answer(row.HourVisible, row.MinuteVisible, second, row.TimeFormat == WithAmPm, reproduceNoonAmBug);
    }
}
