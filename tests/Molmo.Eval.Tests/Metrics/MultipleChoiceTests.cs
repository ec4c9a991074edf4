using Molmo.Eval.Metrics;

namespace Molmo.Eval.Tests.Metrics;

public class MultipleChoiceTests
{
    static readonly string[] Letters = ["A", "B", "C", "D"];

    [Theory]
    [InlineData("B", 1, MultipleChoice.MatchKind.Exact)]
    [InlineData(" c ", 2, MultipleChoice.MatchKind.Exact)]
    [InlineData("E", 0, MultipleChoice.MatchKind.EditDistance)] // all at distance 1 → first
    [InlineData("", 0, MultipleChoice.MatchKind.EditDistance)]  // "" is in every option → edit distance → first shortest
    public void Letter_options(string prediction, int expected, MultipleChoice.MatchKind kind)
    {
        var (i, k) = MultipleChoice.Select(prediction, Letters);
        Assert.Equal(expected, i);
        Assert.Equal(kind, k);
    }

    [Fact]
    public void Option_text_exact_then_substring_then_edit_distance()
    {
        string[] opts = ["the sun", "the moon", "a planet"];
        Assert.Equal((1, MultipleChoice.MatchKind.Exact), MultipleChoice.Select("The Moon", opts));
        Assert.Equal((2, MultipleChoice.MatchKind.Substring), MultipleChoice.Select("planet", opts));
        // "the" is in two options → not a unique substring → edit distance (the sun: 4, the moon: 5) → "the sun".
        Assert.Equal((0, MultipleChoice.MatchKind.EditDistance), MultipleChoice.Select("the", opts));
        Assert.Equal((1, MultipleChoice.MatchKind.EditDistance), MultipleChoice.Select("teh mon", opts));
    }

    [Fact]
    public void Edit_distance_ties_pick_the_first()
    {
        Assert.Equal(0, MultipleChoice.Select("cat", ["bat", "rat"]).Index);
    }

    [Fact]
    public void Unicode_options() =>
        Assert.Equal(1, MultipleChoice.Select("ÉTÉ", ["hiver", "été"]).Index);

    [Fact]
    public void Bad_options_throw()
    {
        Assert.Throws<ArgumentException>(() => MultipleChoice.Select("a", []));
        var e = Assert.Throws<ArgumentException>(() => MultipleChoice.Select("a", ["Dog", "dog"]));
        Assert.Contains("distinct", e.Message);
    }

    [Fact]
    public void Letters_sequence()
    {
        Assert.Equal(["A", "B", "C"], MultipleChoice.Letters(3));
        Assert.Equal("AA", MultipleChoice.Letters(27)[26]);
    }

    [Theory]
    [InlineData("kitten", "sitting", 3)]
    [InlineData("", "abc", 3)]
    [InlineData("abc", "abc", 0)]
    [InlineData("flaw", "lawn", 2)]
    public void Levenshtein_distance(string a, string b, int d) => Assert.Equal(d, Levenshtein.Distance(a, b));
}
