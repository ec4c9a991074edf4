using Molmo.Eval.Metrics;

namespace Molmo.Eval.Tests.Metrics;

public class VqaScoreTests
{
    // Vectors from pixmo-data-and-eval.md §4.1.
    [Theory]
    [InlineData("Two", "2")]
    [InlineData("the dog.", "dog")]
    [InlineData("1,000", "1000")]
    [InlineData("red, white", "red white")]
    [InlineData("T-shirt", "t shirt")]
    [InlineData("(left)", "left")]
    [InlineData("dont", "don't")]
    [InlineData("3.5", "3.5")]
    public void Molmo_normalisation_matches_doc_vectors(string input, string expected) =>
        Assert.Equal(expected, VqaNormalization.NormalizeMolmo(input));

    static string[] Answers(params (string Answer, int Count)[] groups) =>
        groups.SelectMany(g => Enumerable.Repeat(g.Answer, g.Count)).ToArray();

    [Theory]
    [InlineData("2", 3, "3", 7, "two", 1.0, 0.9)]
    [InlineData("red", 2, "blue", 8, "red", 2.0 / 3, 0.6)]
    [InlineData("red", 1, "blue", 9, "red", 1.0 / 3, 0.3)]
    public void Scores_match_doc_vectors(string a1, int n1, string a2, int n2, string pred, double molmo, double official)
    {
        var answers = Answers((a1, n1), (a2, n2));
        Assert.Equal(molmo, VqaScore.Molmo(pred, answers), 9);
        Assert.Equal(official, VqaScore.Official(pred, answers), 9);
    }

    [Fact]
    public void Empty_prediction_scores_zero_and_empty_references_score_zero()
    {
        Assert.Equal(0, VqaScore.Molmo("", Answers(("yes", 10))));
        Assert.Equal(0, VqaScore.Official("", Answers(("yes", 10))));
        Assert.Equal(0, VqaScore.Molmo("yes", []));
        Assert.Equal(0, VqaScore.Official("yes", []));
    }

    [Fact]
    public void Empty_prediction_matches_empty_answers()
    {
        // Three annotators wrote only punctuation; it normalises to nothing, as does an empty prediction.
        var answers = Answers(("?", 3), ("no", 7));
        Assert.Equal(1.0, VqaScore.Molmo("", answers), 9);
    }

    [Fact]
    public void All_ten_agreeing_gives_full_score_in_both()
    {
        var answers = Answers(("yes", 10));
        Assert.Equal(1.0, VqaScore.Molmo("Yes", answers));
        Assert.Equal(1.0, VqaScore.Official("Yes", answers));
    }

    [Fact]
    public void Unicode_is_lower_cased_and_kept()
    {
        Assert.Equal("café crème", VqaNormalization.NormalizeMolmo("  Café  Crème "));
        Assert.Equal(1.0, VqaScore.Molmo("CAFÉ", Answers(("café", 3), ("tea", 7))));
        Assert.Equal("日本", VqaNormalization.NormalizeMolmo("日本"));
    }

    [Fact]
    public void Number_words_articles_and_contractions()
    {
        Assert.Equal("0", VqaNormalization.NormalizeMolmo("none"));
        Assert.Equal("10 cats", VqaNormalization.NormalizeMolmo("ten cats"));
        Assert.Equal("apple", VqaNormalization.NormalizeMolmo("An apple"));
        Assert.Equal("it's", VqaNormalization.NormalizeMolmo("it's")); // already has its apostrophe
        Assert.Equal("won't go", VqaNormalization.NormalizeMolmo("wont go"));
        Assert.Equal("eleven", VqaNormalization.NormalizeMolmo("eleven")); // the table stops at ten
    }

    [Fact]
    public void Punctuation_next_to_a_space_is_deleted_otherwise_replaced()
    {
        Assert.Equal("yes", VqaNormalization.NormalizeMolmo("yes!"));     // '!' not next to a space → space → dropped by split
        Assert.Equal("x y", VqaNormalization.NormalizeMolmo("x/y")); // '/' → space
        Assert.Equal("b", VqaNormalization.NormalizeMolmo("a/b"));   // … and then the article "a" is dropped
        Assert.Equal("ab c", VqaNormalization.NormalizeMolmo("a-b - c")); // " -" occurs → every '-' deleted
        Assert.Equal("10:30", VqaNormalization.NormalizeMolmo("10:30")); // ':' is not in Molmo's set
    }

    [Fact]
    public void Comma_between_digits_deletes_all_punctuation_of_the_string()
    {
        Assert.Equal("12000", VqaNormalization.NormalizeMolmo("12,000"));
        Assert.Equal("1000 usd", VqaNormalization.NormalizeMolmo("1,000 (usd)"));
        Assert.Equal("1000usd", VqaNormalization.NormalizeMolmo("1,000(usd)"));
    }

    [Fact]
    public void Percent_and_decimal_points_survive()
    {
        Assert.Equal("45%", VqaNormalization.NormalizeMolmo("45%"));
        Assert.Equal("0.5", VqaNormalization.NormalizeMolmo("0.5"));
        Assert.Equal("end", VqaNormalization.NormalizeMolmo("end."));
    }

    [Fact]
    public void Period_removal_stops_after_32_as_in_the_reference()
    {
        var input = string.Concat(Enumerable.Repeat("a.", 40));
        var output = VqaNormalization.ProcessPunctuation(input, VqaNormalization.MolmoPunctuation);
        Assert.Equal(8, output.Count(c => c == '.'));
    }

    [Fact]
    public void Official_variant_only_normalises_references_by_punctuation()
    {
        // Prediction "two" becomes "2"; a reference "two" is left as it is when all references agree.
        Assert.Equal(0, VqaScore.Official("2", Answers(("two", 10))));
        Assert.Equal(1.0, VqaScore.Molmo("2", Answers(("two", 10))));
        // When references disagree they get punctuation processing: "t-shirt" keeps its '-' (not in the official set).
        Assert.Equal(1.0, VqaScore.Official("t-shirt", Answers(("t-shirt", 5), ("shirt", 5))), 9);
        Assert.Equal(1.0, VqaScore.Molmo("t shirt", Answers(("t-shirt", 5), ("shirt", 5))), 9);
    }

    [Fact]
    public void Official_leave_one_out_with_four_matches_is_one()
    {
        Assert.Equal(1.0, VqaScore.Official("red", Answers(("red", 4), ("blue", 6))), 9);
    }
}
