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
    public void EveryByteValueRoundTripsInBothTokenizers()
    {
        // All of Latin-1 (control characters included) and a few 2-, 3- and 4-byte characters: every UTF-8 byte value
        // must be reachable through the byte-level alphabet.
        var text = new string(Enumerable.Range(0, 256).Select(i => (char)i).ToArray()) + "\u07FF\u0800\uFFFD\U0010FFFF";
        foreach (var tok in new[] { TokenizerFixtures.Qwen, TokenizerFixtures.MolmoE })
            Assert.Equal(text, tok.Decode(tok.Encode(text), skipSpecialTokens: false));
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

/// <summary>Pre-tokenisation of characters outside the BMP, which .NET regexes see as two surrogates.</summary>
public class AstralPreTokenizationTests
{
    [Fact]
    public void AstralLettersJoinTheirWordAsInTheReference()
    {
        // U+1D400 MATHEMATICAL BOLD CAPITAL A and U+20000 (CJK ext. B) are letters (\p{L}) for the reference regex.
        Assert.Equal(["a𝐀b", " 𝐀", "."], TokenizerFixtures.Qwen.PreTokenize("a𝐀b 𝐀."));
        Assert.Equal(["中𠀀文"], TokenizerFixtures.Qwen.PreTokenize("中𠀀文"));
        Assert.Equal(["a𝐀b", " 𝐀", "."], TokenizerFixtures.MolmoE.PreTokenize("a𝐀b 𝐀."));
    }

    [Fact]
    public void EmojiStayWithPunctuationAndAreNeverSplit()
    {
        Assert.Equal(["Hi", " 😀!", " ok"], TokenizerFixtures.Qwen.PreTokenize("Hi 😀! ok"));
    }

    [Fact]
    public void AstralDigitsGroupInGpt2()
    {
        // U+1D7CF MATHEMATICAL BOLD DIGIT ONE is \p{N}: GPT-2's " ?\p{N}+" keeps a run of digits together.
        Assert.Equal(["x", " 𝟏1"], TokenizerFixtures.MolmoE.PreTokenize("x 𝟏1"));
    }

    [Fact]
    public void Qwen2SplitsAstralDigitsSinglyAndJoinsASymbolToTheFollowingWord()
    {
        // Qwen2: "\p{N}" is one code point; "[^\r\n\p{L}\p{N}]?\p{L}+" takes one whole emoji as the optional prefix.
        Assert.Equal(["𝟏", "𝟐", "1"], TokenizerFixtures.Qwen.PreTokenize("𝟏𝟐1"));
        Assert.Equal(["😀áK"], TokenizerFixtures.Qwen.PreTokenize("😀áK"));
        Assert.Equal(["😀", "áK"], TokenizerFixtures.MolmoE.PreTokenize("😀áK"));
    }

    [Fact]
    public void ContractionsAreCaseInsensitiveOnlyInQwen2()
    {
        Assert.Equal(["I", "'M", " it", "'s"], TokenizerFixtures.Qwen.PreTokenize("I'M it's"));
        Assert.Equal(["I", "'", "M", " it", "'s"], TokenizerFixtures.MolmoE.PreTokenize("I'M it's"));
    }

    [Fact]
    public void WhitespaceRunsGiveTheirLastSpaceToTheNextWord()
    {
        Assert.Equal(["a", "  ", " b", "\n \n", " ", " c", "  "], TokenizerFixtures.Qwen.PreTokenize("a   b\n \n  c  "));
    }

    [Theory]
    [InlineData("a𝐀b 𝐀. 中𠀀文 x 𝟏1 😀")]
    public void AstralTextRoundTrips(string text)
    {
        Assert.Equal(text, TokenizerFixtures.Qwen.Decode(TokenizerFixtures.Qwen.Encode(text)));
        Assert.Equal(text, TokenizerFixtures.MolmoE.Decode(TokenizerFixtures.MolmoE.Encode(text)));
    }
}
