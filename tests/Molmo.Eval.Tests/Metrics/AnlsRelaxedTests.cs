using Molmo.Eval.Metrics;

namespace Molmo.Eval.Tests.Metrics;

public class AnlsTests
{
    // Vectors from pixmo-data-and-eval.md §4.2 (reference, prediction) → score.
    [Theory]
    [InlineData("Dr. Smith", "dr smith", 0.8889)]
    [InlineData("Total", "Totals", 0.8333)]
    [InlineData("1995", "1996", 0.75)]
    [InlineData("ITC Limited", "ITC", 0.0)]
    public void Doc_vectors(string reference, string prediction, double expected) =>
        Assert.Equal(expected, Anls.Similarity(reference, prediction), 4);

    [Fact]
    public void Max_over_references_and_threshold()
    {
        Assert.Equal(1.0, Anls.Score("itc", ["ITC Limited", "ITC"]));
        Assert.Equal(0.0, Anls.Similarity("abcdef", "abcxyz"));           // NL = 0.5 exactly → 0
        Assert.Equal(1 - 2.0 / 6, Anls.Similarity("abcdef", "abcdxy"), 9); // NL = 1/3 → 2/3
        Assert.Equal(0.0, Anls.Score("x", []));
    }

    [Fact]
    public void Empty_strings()
    {
        Assert.Equal(1.0, Anls.Similarity("", ""));      // guarded division by zero
        Assert.Equal(0.0, Anls.Similarity("answer", "")); // NL = 1
        Assert.Equal(0.0, Anls.Similarity("", "answer"));
    }

    [Fact]
    public void Unicode_and_case()
    {
        Assert.Equal(1.0, Anls.Similarity("ÉCOLE", "école"));
        Assert.Equal(1 - 1.0 / 5, Anls.Similarity("naïve", "naive"), 9);
        Assert.True(Anls.ExactMatch("Straße", ["STRASSE", "straße"]));
    }

    [Fact]
    public void Spaces_and_punctuation_count()
    {
        Assert.Equal(1 - 1.0 / 6, Anls.Similarity("$1,000", "$1000"), 9);
        Assert.Equal(1 - 1.0 / 9, Anls.Similarity("new  york", "new york"), 9);
    }
}

public class RelaxedAccuracyTests
{
    // Vectors from pixmo-data-and-eval.md §4.3 (target, prediction).
    [Theory]
    [InlineData("14", "14.5", true)]
    [InlineData("14", "15", false)]
    [InlineData("45%", "0.46", true)]
    [InlineData("0", "0.0", false)]
    [InlineData("Yes", "yes", true)]
    [InlineData("2014", "2015", true)]
    public void Doc_vectors(string target, string prediction, bool expected) =>
        Assert.Equal(expected, RelaxedAccuracy.IsCorrect(target, prediction));

    [Theory]
    [InlineData("0", "0", true)]          // zero target: string match
    [InlineData("100", "105", true)]      // exactly 5 %
    [InlineData("100", "105.1", false)]
    [InlineData("-20", "-19.5", true)]
    [InlineData("1000", "1,000", false)]  // Python float rejects commas → string comparison
    [InlineData("1,000", "1,000", true)]
    [InlineData("1,000", "1000", false)]
    [InlineData("50%", "50%", true)]
    [InlineData("50%", "0.5", true)]
    [InlineData("0.5", "50%", true)]
    [InlineData("50%", "50", false)]      // 0.5 vs 50
    [InlineData("12", " 12 ", true)]      // float() strips whitespace
    [InlineData("1_000", "1000", true)]   // float() accepts underscores between digits
    [InlineData("abc", "", false)]
    [InlineData("", "", true)]
    [InlineData("12", "", false)]
    [InlineData("Ünïcode", "üNÏCODE", true)]
    [InlineData("nan", "nan", false)]     // NaN target is "non-zero" and never close
    public void Edge_cases(string target, string prediction, bool expected) =>
        Assert.Equal(expected, RelaxedAccuracy.IsCorrect(target, prediction));

    [Fact]
    public void Max_over_targets() => Assert.Equal(1.0, RelaxedAccuracy.Score("15", ["100", "15.5"]));

    [Theory]
    [InlineData("1e3", 1000.0)]
    [InlineData("-.5", -0.5)]
    [InlineData("5.", 5.0)]
    [InlineData("+7", 7.0)]
    [InlineData("  3 ", 3.0)]
    public void Python_float_accepts(string s, double v)
    {
        Assert.True(PythonFloat.TryParse(s, out var x));
        Assert.Equal(v, x);
    }

    [Theory]
    [InlineData("1,000")]
    [InlineData("1__0")]
    [InlineData("_1")]
    [InlineData("12 3")]
    [InlineData("$5")]
    [InlineData("")]
    [InlineData("٣")] // Python would accept other-script digits; we do not (documented)
    public void Python_float_rejects(string s) => Assert.False(PythonFloat.TryParse(s, out _));
}
