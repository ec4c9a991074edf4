using System.Text.Json;
using Molmo.Text;

namespace Molmo.Tests.Text;

/// <summary>MolmoE-1B: GPT-NeoX tokenizer.json (GPT-2 regex, NFC, runs of spaces as added tokens). Expected values are read from its files.</summary>
public class MolmoETokenizerTests
{
    static JsonDocument ReadJson(string name) => JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TokenizerFixtures.MolmoEDir, name)));

    static Dictionary<string, (int Id, bool Special)> AddedTokensInFile()
    {
        using var doc = ReadJson("tokenizer.json");
        return doc.RootElement.GetProperty("added_tokens").EnumerateArray()
            .ToDictionary(e => e.GetProperty("content").GetString()!, e => (e.GetProperty("id").GetInt32(), e.GetProperty("special").GetBoolean()));
    }

    [Fact]
    public void MolmoTokenIdsComeFromTheAddedTokens()
    {
        var added = AddedTokensInFile();
        var s = TokenizerFixtures.MolmoE.SpecialTokens;
        Assert.Equal(added[MolmoTokenizer.ImStartToken].Id, s.ImStart);
        Assert.Equal(added[MolmoTokenizer.ImEndToken].Id, s.ImEnd);
        Assert.Equal(added[MolmoTokenizer.ImPatchToken].Id, s.ImPatch);
        Assert.Equal(added[MolmoTokenizer.ImColToken].Id, s.ImCol);
        Assert.Equal(added[MolmoTokenizer.ImageToken].Id, s.Image);
    }

    [Fact]
    public void EosAndBosAreTheGenerationConfigEos()
    {
        using var gen = ReadJson("generation_config.json");
        int eos = gen.RootElement.GetProperty("eos_token_id").GetInt32();
        Assert.Equal(eos, TokenizerFixtures.MolmoE.EosId);
        Assert.Equal(eos, TokenizerFixtures.MolmoE.BosId); // special_tokens_map names <|endoftext|> as BOS too
    }

    [Fact]
    public void VocabSizeIsHighestIdPlusOne()
    {
        using var doc = ReadJson("tokenizer.json");
        int max = doc.RootElement.GetProperty("model").GetProperty("vocab").EnumerateObject().Max(p => p.Value.GetInt32());
        max = Math.Max(max, AddedTokensInFile().Values.Max(v => v.Id));
        Assert.Equal(max + 1, TokenizerFixtures.MolmoE.VocabSize);
    }

    [Fact]
    public void EveryAddedTokenEncodesToItsIdAndKeepsItsSpecialFlag()
    {
        var tok = TokenizerFixtures.MolmoE;
        foreach (var (content, (id, special)) in AddedTokensInFile())
        {
            Assert.Equal(new[] { id }, tok.Encode(content));
            Assert.Equal(special, tok.IsSpecial(id));
            Assert.Equal(content, tok.IdToToken(id));
        }
    }

    [Fact]
    public void PromptWordsAreSingleVocabularyTokens()
    {
        // With the GPT-2 regex each of these words (with its leading space) is one piece, and each is in the vocabulary.
        var tok = TokenizerFixtures.MolmoE;
        var ids = tok.Encode(PromptBuilder.UserTurn("What is in this image?"));
        string[] expectedPieces = ["ĠUser", ":", "ĠWhat", "Ġis", "Ġin", "Ġthis", "Ġimage", "?", "ĠAssistant", ":"];
        using var doc = ReadJson("tokenizer.json");
        var vocab = doc.RootElement.GetProperty("model").GetProperty("vocab");
        Assert.Equal(expectedPieces.Select(p => vocab.GetProperty(p).GetInt32()), ids);
    }

    [Fact]
    public void RunsOfSpacesUseTheLongestSpaceToken()
    {
        var tok = TokenizerFixtures.MolmoE;
        var added = AddedTokensInFile();
        var ids = tok.Encode("a     b");
        Assert.Equal(3, ids.Length);
        Assert.Equal(added["     "].Id, ids[1]);
        Assert.Equal("a     b", tok.Decode(ids));
    }

    [Theory]
    [InlineData("Hello world, it's 2024! café 日本語 😀")]
    [InlineData("<im_start><im_patch><im_col><im_end>")]
    [InlineData("line1\nline2\r\n\ttabbed   spaced")]
    public void RoundTrips(string text)
    {
        var tok = TokenizerFixtures.MolmoE;
        Assert.Equal(text, tok.Decode(tok.Encode(text), skipSpecialTokens: false));
    }

    [Fact]
    public void SkippingSpecialDropsImageTokensAndEos()
    {
        var tok = TokenizerFixtures.MolmoE;
        var s = tok.SpecialTokens;
        Assert.Equal(" Hi", tok.Decode([s.ImStart, s.ImPatch, .. tok.Encode(" Hi"), s.Eos]));
    }

    [Fact]
    public void CleanUpFlagComesFromTokenizerConfig()
    {
        using var cfg = ReadJson("tokenizer_config.json");
        Assert.Equal(cfg.RootElement.GetProperty("clean_up_tokenization_spaces").GetBoolean(), TokenizerFixtures.MolmoE.CleanUpTokenizationSpaces);
        Assert.False(TokenizerFixtures.Qwen.CleanUpTokenizationSpaces); // 7B-D's tokenizer_config says false
    }

    [Fact]
    public void CleanUpSpacesFollowsTheHuggingFaceReplacements()
    {
        Assert.Equal("Yes. No? Hi! a, b I'm it's we've they're don't'x", MolmoTokenizer.CleanUpSpaces("Yes . No ? Hi ! a , b I 'm it 's we 've they 're do n't ' x"));
        Assert.Equal(" .", MolmoTokenizer.CleanUpSpaces("  ."));
    }
}
