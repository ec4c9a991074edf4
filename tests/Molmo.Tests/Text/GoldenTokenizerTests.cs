using Molmo.Text;

namespace Molmo.Tests.Text;

/// <summary>The 7B-D tokenizer against the reference outputs in golden/tokenizer.json.</summary>
public class GoldenTokenizerTests
{
    public static TheoryData<int> Cases => TokenizerFixtures.GoldenCaseIndices();

    [Theory]
    [MemberData(nameof(Cases))]
    public void EncodeMatchesReferenceIds(int index)
    {
        var c = TokenizerFixtures.GoldenTokenizerCases()[index];
        Assert.Equal(c.Ids, TokenizerFixtures.Qwen.Encode(c.Text));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DecodeSkippingSpecialMatchesReference(int index)
    {
        var c = TokenizerFixtures.GoldenTokenizerCases()[index];
        Assert.Equal(c.DecodedSkipSpecial, TokenizerFixtures.Qwen.Decode(c.Ids, skipSpecialTokens: true));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DecodeKeepingSpecialGivesTheTextBack(int index)
    {
        // Every golden text is already NFC, so a full decode must reproduce it exactly.
        var c = TokenizerFixtures.GoldenTokenizerCases()[index];
        Assert.Equal(c.Text, TokenizerFixtures.Qwen.Decode(c.Ids, skipSpecialTokens: false));
    }

    [Fact]
    public void GoldenFileHasCases() => Assert.True(TokenizerFixtures.GoldenTokenizerCases().Count >= 10);
}
