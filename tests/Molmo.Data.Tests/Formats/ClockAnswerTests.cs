using Molmo.Data.Datasets;
using Molmo.Data.Formats;

namespace Molmo.Data.Tests.Formats;

public class ClockAnswerTests
{
    [Theory]
    [InlineData(7, 57, 39, true, "The time shown is 7:57:39 AM")]
    [InlineData(23, 57, 4, true, "The time shown is 11:57:04 PM")]
    [InlineData(0, 9, null, false, "The time shown is 12:09")]
    [InlineData(8, 15, 30, false, "The time shown is 8:15:30")]
    [InlineData(12, 30, null, true, "The time shown is 12:30 PM")]
    [InlineData(0, 0, null, true, "The time shown is 12:00 AM")]
    public void Answers(int h, int m, int? s, bool ampm, string expected) => Assert.Equal(expected, ClockAnswer.Answer(h, m, s, ampm));

    [Fact]
    public void Noon_bug_can_be_reproduced()
    {
        Assert.Equal("12:30 AM", ClockAnswer.TimeText(12, 30, null, true, reproduceNoonAmBug: true));
        Assert.Equal("1:30 PM", ClockAnswer.TimeText(13, 30, null, true, reproduceNoonAmBug: true));
    }

    static PixmoClocksRow Row(string format, bool secs, int h, int m, int s, string text) =>
        new("id", "face", "lggwatchr", "t", format, secs, h, m, s, text);

    [Fact]
    public void Row_answers_match_the_rows_readable_text()
    {
        foreach (var row in new[]
                 {
                     Row("Without AM/PM", true, 8, 15, 30, "8:15:30"), Row("Without AM/PM", false, 0, 9, -1, "12:09"),
                     Row("With AM/PM", true, 7, 57, 39, "7:57:39 AM"), Row("With AM/PM", true, 23, 57, 4, "11:57:04 PM"),
                     Row("With AM/PM", false, 12, 5, 40, "12:05 PM"),
                 })
            Assert.Equal("The time shown is " + row.Text, ClockAnswer.Answer(row));
        Assert.Equal("The time is not shown in the image.", ClockAnswer.Answer(Row("no time", false, -1, -1, -1, "")));
        var conv = TrainingExamples.Clock(Row("With AM/PM", false, 12, 5, -1, "12:05 PM"));
        Assert.Equal("clocks: What time is being shown?", conv.Messages[0].Text);
        Assert.Equal("The time shown is 12:05 PM", conv.Messages[1].Text);
    }

    [Fact]
    public void Out_of_range_times_are_rejected() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ClockAnswer.Answer(24, 0, null, false));
}
