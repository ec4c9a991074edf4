using System.Text.Json;
using Molmo.Text;

namespace Molmo.Tests.Text;

/// <summary>7B-D tokenizer API: ids, specials, vocabulary bookkeeping, added-token matching, round trips.</summary>
public class MolmoTokenizerTests
{
    static MolmoTokenizer Tok => TokenizerFixtures.Qwen;

    static Dictionary<string, int> AddedTokensJson()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TokenizerFixtures.QwenDir, "added_tokens.json")));
        return doc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
    }

    [Fact]
    public void VocabSizeIsHighestAddedIdPlusOne() => Assert.Equal(AddedTokensJson().Values.Max() + 1, Tok.VocabSize);

    [Fact]
    public void EveryAddedTokenIsSpecialAndEncodesToItsId()
    {
        foreach (var (content, id) in AddedTokensJson())
        {
            Assert.True(Tok.IsSpecial(id), content);
            Assert.Equal(content, Tok.IdToToken(id));
            Assert.Equal(id, Tok.TokenToId(content));
            Assert.Equal(new[] { id }, Tok.Encode(content));
        }
    }

    [Fact]
    public void OrdinaryTokensAreNotSpecial()
    {
        foreach (var id in Tok.Encode(" User: Describe this image. Assistant:")) Assert.False(Tok.IsSpecial(id));
        Assert.False(Tok.IsSpecial(-1));
        Assert.False(Tok.IsSpecial(Tok.VocabSize));
    }

    [Fact]
    public void IdToTokenGivesByteLevelStrings()
    {
        var ids = Tok.Encode(" User:");
        Assert.Equal(new[] { "ĠUser", ":" }, ids.Select(Tok.IdToToken));
        Assert.Null(Tok.IdToToken(Tok.VocabSize));
        Assert.Null(Tok.IdToToken(-5));
    }

    [Fact]
    public void AddedTokensAreMatchedBeforeNormalisation()
    {
        // NFC would turn ">" + U+0338 into "≯" and hide the token; the reference matches added tokens on the raw text.
        var ids = Tok.Encode("<im_patch>\u0338");
        Assert.Equal(Tok.SpecialTokens.ImPatch, ids[0]);
        Assert.Equal("<im_patch>\u0338", Tok.Decode(ids, skipSpecialTokens: false));
    }

    [Fact]
    public void TextAroundSpecialTokensIsEncodedSeparately()
    {
        var s = Tok.SpecialTokens;
        var ids = Tok.Encode("Hi<|endoftext|> there<im_start>x");
        Assert.Equal([.. Tok.Encode("Hi"), s.Eos, .. Tok.Encode(" there"), s.ImStart, .. Tok.Encode("x")], ids);
    }

    [Fact]
    public void InputIsNfcNormalised()
    {
        Assert.Equal(Tok.Encode("caf\u00E9"), Tok.Encode("cafe\u0301"));
        Assert.Equal("caf\u00E9", Tok.Decode(Tok.Encode("cafe\u0301")));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("The quick brown fox. 12345 67.8%")]
    [InlineData("Zoë, Ångström, 日本語, 한국어, Ελληνικά, русский, 👩‍👩‍👧 🏳️‍🌈")]
    [InlineData("  multiple   spaces\t\ttabs\n\n\r\nnewlines  ")]
    [InlineData("I'M HERE, you'RE there, they'll've")]
    [InlineData("def f(x):\n    return x ** 2  # square\n")]
    [InlineData("\u200B zero width \u00A0nbsp\u3000ideographic")]
    public void RoundTrips(string text)
    {
        var ids = Tok.Encode(text);
        Assert.Equal(text, Tok.Decode(ids, skipSpecialTokens: false));
        Assert.Equal(text, Tok.Decode(ids));
    }

    [Fact]
    public void EmptyTextHasNoTokens() => Assert.Empty(Tok.Encode(""));

    [Fact]
    public void DecodeSkipsUnknownIds() =>
        Assert.Equal(" Hi", Tok.Decode([-1, .. Tok.Encode(" Hi"), Tok.VocabSize, Tok.VocabSize + 100]));

    [Fact]
    public void DecodeOfAnInvalidByteSequenceUsesReplacementCharacters()
    {
        // A lone continuation byte token (0x80 is "Ā"+… in the byte alphabet) decodes to U+FFFD, as errors="replace" does.
        int cont = Tok.TokenToId(ByteLevelAlphabet.ByteToChar(0x80).ToString())!.Value;
        Assert.Equal("a\uFFFDb", Tok.Decode([.. Tok.Encode("a"), cont, .. Tok.Encode("b")]));
    }
}
