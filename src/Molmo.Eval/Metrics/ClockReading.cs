namespace Molmo.Eval.Metrics;

/// <summary>A time read off a clock face (hour as written, minute).</summary>
public readonly record struct ClockTime(int Hour, int Minute)
{
    public override string ToString() => $"{Hour}:{Minute:00}";
}

/// <summary>Per-example outcome of the clock benchmark.</summary>
public readonly record struct ClockJudgement(bool Parsed, bool HourCorrect, bool MinuteClose, bool AllClose);

/// <summary>Clock-reading evaluation on the real-world clock benchmark, as Molmo's <c>ClockEval</c> scores it.</summary>
public static class ClockReading
{
    /// <summary>
    /// Split on ':'; the hour is the last whitespace token before the first colon and the minute the first token after
    /// it. (Our only addition: punctuation around those tokens is trimmed, so "(7:05)" reads as 7:05.)
    /// Returns null when there is no colon or either token is not a number.
    /// </summary>
    public static ClockTime? Parse(string? text)
    {
        var parts = (text ?? "").Split(':');
        if (parts.Length < 2) return null;
        var before = VqaNormalization.SplitWhitespace(parts[0]);
        var after = VqaNormalization.SplitWhitespace(parts[1]);
        if (before.Length == 0 || after.Length == 0) return null;
        var h = TrimNonDigits(before[^1]);
        var m = TrimNonDigits(after[0]);
        if (h.Length == 0 || m.Length == 0 || !h.All(char.IsAsciiDigit) || !m.All(char.IsAsciiDigit)) return null;
        if (!int.TryParse(h, out var hour) || !int.TryParse(m, out var minute)) return null;
        return new ClockTime(hour, minute);
    }

    /// <summary>Trims punctuation (not letters) around a token: "(10" → "10", but "1O" stays and fails.</summary>
    static string TrimNonDigits(string s)
    {
        int a = 0, b = s.Length;
        while (a < b && !char.IsLetterOrDigit(s[a])) a++;
        while (b > a && !char.IsLetterOrDigit(s[b - 1])) b--;
        return s[a..b];
    }

    /// <summary>
    /// Scores a prediction against the true time. Truth: hour 12 → 0, minute 60 → 0. Prediction: an hour ≥ 12 loses 12.
    /// Hour correct: equal. Minute close: |Δ| ≤ 1 or |Δ| = 59 (wrap-around). All close: hour correct and minute close,
    /// or the total difference is exactly 719 minutes (11:59 vs 12:00). Note 3:59 vs 4:00 is not close here (the hour
    /// differs), unlike the official top-1 protocol.
    /// </summary>
    public static ClockJudgement Judge(string? prediction, ClockTime truth)
    {
        var p = Parse(prediction);
        if (p is null) return new ClockJudgement(false, false, false, false);
        int gh = truth.Hour == 12 ? 0 : truth.Hour, gm = truth.Minute == 60 ? 0 : truth.Minute;
        int ph = p.Value.Hour >= 12 ? p.Value.Hour - 12 : p.Value.Hour, pm = p.Value.Minute;
        bool hour = ph == gh;
        int dm = Math.Abs(pm - gm);
        bool minute = dm <= 1 || dm == 59;
        bool all = (hour && minute) || Math.Abs((ph * 60 + pm) - (gh * 60 + gm)) == 719;
        return new ClockJudgement(true, hour, minute, all);
    }
}
