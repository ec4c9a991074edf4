using Molmo.Eval.Metrics;

namespace Molmo.Eval.Tests.Metrics;

public class CountExtractionTests
{
    [Theory]
    [InlineData("Counting the <points x1=\"10.0\" y1=\"20.0\" x2=\"30.0\" y2=\"40.0\" alt=\"cats\">cats</points> shows a total of 2.", 2)]
    [InlineData("7", 7)]
    [InlineData("There are 12.", 12)]
    [InlineData("There are seven.", 7)]
    [InlineData("TWENTY", 20)]
    [InlineData("a total of 5 apples", 5)]      // last token is not a number → regex
    [InlineData("I count a total of 15 cars in the picture", 15)]
    [InlineData("There are none.", 0)]           // fixed "none" check
    [InlineData("none", 0)]
    [InlineData("  9...  ", 9)]
    [InlineData("1_000", 1000)]                  // Python int() accepts underscores
    public void Extracts(string text, int expected) => Assert.Equal(expected, CountExtraction.Extract(text));

    [Theory]
    [InlineData("")]
    [InlineData("many")]
    [InlineData("twenty-one")]
    [InlineData("I don't know")]
    [InlineData("3,000")]  // int() rejects the comma, no "a total of"
    [InlineData("٣")]       // other-script digits are not read
    public void Invalid(string text) => Assert.Null(CountExtraction.Extract(text));

    [Fact]
    public void Reproducing_the_none_bug_leaves_none_unparsed()
    {
        Assert.Null(CountExtraction.Extract("There are none.", reproduceNoneBug: true));
        Assert.Equal(3, CountExtraction.Extract("There are 3.", reproduceNoneBug: true));
    }

    [Fact]
    public void Last_token_wins_over_total_of() =>
        Assert.Equal(4, CountExtraction.Extract("a total of 3 or maybe 4"));
}

public class ClockReadingTests
{
    [Theory]
    [InlineData("The time shown is 7:57:39 AM", 7, 57)]
    [InlineData("12:05", 12, 5)]
    [InlineData("It is (10:30).", 10, 30)]
    [InlineData("The time shown is 3:07 PM", 3, 7)]
    public void Parses(string text, int h, int m) => Assert.Equal(new ClockTime(h, m), ClockReading.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("The time is not shown in the image.")]
    [InlineData("ten past three")]
    [InlineData("10:")]
    [InlineData(":30")]
    [InlineData("at 1O:3O")]
    public void Unparseable(string text) => Assert.Null(ClockReading.Parse(text));

    static ClockJudgement J(string pred, int h, int m) => ClockReading.Judge(pred, new ClockTime(h, m));

    [Fact]
    public void Hour_exact_minute_within_one()
    {
        Assert.Equal(new ClockJudgement(true, true, true, true), J("3:15", 3, 15));
        Assert.Equal(new ClockJudgement(true, true, true, true), J("3:16", 3, 15));
        Assert.Equal(new ClockJudgement(true, true, false, false), J("3:17", 3, 15));
        Assert.Equal(new ClockJudgement(true, false, true, false), J("4:15", 3, 15));
    }

    [Fact]
    public void Twelve_is_zero_and_afternoon_hours_wrap()
    {
        Assert.True(J("12:30", 12, 30).AllClose);
        Assert.True(J("0:30", 12, 30).AllClose);
        Assert.True(J("15:30", 3, 30).AllClose);
        Assert.True(J("12:00", 12, 60).AllClose); // GT minute 60 → 0
    }

    [Fact]
    public void Minute_wrap_around()
    {
        // 3:00 vs 3:59: |Δ| = 59 counts as close for the minute (and the hour is equal here).
        Assert.True(J("3:59", 3, 0).MinuteClose);
        Assert.True(J("3:59", 3, 0).AllClose);
        // 11:59 vs 12:00: total difference 719 minutes → all close although the hour differs.
        var j = J("11:59", 12, 0);
        Assert.False(j.HourCorrect);
        Assert.True(j.AllClose);
        // 3:59 vs 4:00 is not close in Molmo's rule (the hour is wrong).
        Assert.False(J("3:59", 4, 0).AllClose);
    }

    [Fact]
    public void Unparsed_prediction_scores_nothing() =>
        Assert.Equal(new ClockJudgement(false, false, false, false), J("no clock", 3, 15));
}
