using Molmo.Eval.Metrics;

namespace Molmo.Eval.Tests.Metrics;

public class PredictionCleanupTests
{
    [Theory]
    [InlineData("  blue  ", "blue")]
    [InlineData("The answer is\tblue   sky", "The answer is blue sky")]
    [InlineData("Reasoning... Answer: 42 ", "42")]
    [InlineData("Answer: a Answer: b", "a Answer: b")]
    [InlineData("cat\ndog\ncat", "cat")]
    [InlineData("cat\ndog", "cat")]
    [InlineData("a  b\ndog\na b", "a b")]
    [InlineData("", "")]
    public void Cleans_like_the_reference(string input, string expected) => Assert.Equal(expected, PredictionCleanup.Clean(input));

    [Fact]
    public void Null_is_empty() => Assert.Equal("", PredictionCleanup.Clean(null));
}
