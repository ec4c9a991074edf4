using Molmo.Text.Normalization;

namespace Molmo.Tests.Text;

/// <summary>NFC against UAX #15 facts (composition, singletons, reordering, exclusions, Hangul, blocking).</summary>
public class NfcNormalizerTests
{
    [Theory]
    [InlineData("e\u0301", "\u00E9")]                 // simple composition
    [InlineData("\u212B", "\u00C5")]                  // singleton decomposition (ANGSTROM SIGN)
    [InlineData("A\u030A", "\u00C5")]
    [InlineData("\u1100\u1161\u11A8", "\uAC01")]      // Hangul L V T
    [InlineData("\uAC00\u11A8", "\uAC01")]            // Hangul LV + T
    [InlineData("q\u0307\u0323", "q\u0323\u0307")]    // canonical reordering, no composite
    [InlineData("\u0344", "\u0308\u0301")]            // non-starter decomposition, never recomposed
    [InlineData("a\u0323\u0302", "\u1EAD")]           // two-step composition
    [InlineData("\u0958", "\u0915\u093C")]            // composition exclusion
    [InlineData("e\u0327\u0301", "\u0229\u0301")]     // composite then no further pair
    [InlineData("\u1E9B\u0323", "\u1E9B\u0323")]
    [InlineData("\u0301abc", "\u0301abc")]            // leading non-starter
    [InlineData("日本語 😀", "日本語 😀")]
    [InlineData("x\uD800y", "x\uD800y")]             // lone surrogate passes through
    public void NormalizesToNfc(string input, string expected) => Assert.Equal(expected, NfcNormalizer.Normalize(input));

    [Fact]
    public void AlreadyNormalTextIsReturnedAsIs()
    {
        const string ascii = "plain ASCII text";
        Assert.Same(ascii, NfcNormalizer.Normalize(ascii));
        string cjk = "日本語の文章 café";
        Assert.Same(cjk, NfcNormalizer.Normalize(cjk));
    }
}
