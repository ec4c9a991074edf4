using Molmo.TestSupport;
using Molmo.Text;

namespace Molmo.Tests.Text;

public class TokenizerLoadErrorTests
{
    /// <summary>A temporary copy of the 7B-D tokenizer files, to break.</summary>
    static string CopyQwenFiles(params string[] except)
    {
        var dir = TestPaths.NewTempDir("molmo-tok");
        foreach (var name in new[] { "vocab.json", "merges.txt", "added_tokens.json", "tokenizer_config.json", "special_tokens_map.json" })
            if (!except.Contains(name)) File.Copy(Path.Combine(TokenizerFixtures.QwenDir, name), Path.Combine(dir, name));
        return dir;
    }

    [Fact]
    public void MissingVocabJsonIsNamed()
    {
        var dir = CopyQwenFiles("vocab.json");
        var e = Assert.Throws<TokenizerLoadException>(() => MolmoTokenizer.FromDirectory(dir));
        Assert.Equal(Path.Combine(dir, "vocab.json"), e.FilePath);
        Assert.Contains("vocab.json", e.Message);
        Assert.Contains("not found", e.Message);
    }

    [Fact]
    public void MissingFolderIsNamed()
    {
        var dir = Path.Combine(TestPaths.NewTempDir("molmo-tok"), "nope");
        var e = Assert.Throws<TokenizerLoadException>(() => MolmoTokenizer.FromDirectory(dir));
        Assert.Equal(dir, e.FilePath);
    }

    [Fact]
    public void CorruptTokenizerConfigIsNamedWithItsLine()
    {
        var dir = CopyQwenFiles("tokenizer_config.json");
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "{\n  \"tokenizer_class\": \"Qwen2Tokenizer\",\n  oops\n}");
        var e = Assert.Throws<TokenizerLoadException>(() => MolmoTokenizer.FromDirectory(dir));
        Assert.EndsWith("tokenizer_config.json", e.FilePath);
        Assert.Contains("not valid JSON", e.Message);
        Assert.Contains("line 3", e.Message);
    }

    [Fact]
    public void CorruptTokenizerJsonIsNamed()
    {
        var dir = TestPaths.NewTempDir("molmo-tok");
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0");
        var e = Assert.Throws<TokenizerLoadException>(() => MolmoTokenizer.FromDirectory(dir));
        Assert.EndsWith("tokenizer.json", e.FilePath);
        Assert.Contains("not valid JSON", e.Message);
    }

    [Fact]
    public void UnsupportedModelTypeIsNamed()
    {
        var dir = TestPaths.NewTempDir("molmo-tok");
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}");
        var e = Assert.Throws<TokenizerLoadException>(() => MolmoTokenizer.FromDirectory(dir));
        Assert.Contains("WordPiece", e.Message);
    }

    [Fact]
    public void BadMergesLineIsNamedWithItsNumber()
    {
        var dir = CopyQwenFiles("merges.txt");
        File.WriteAllLines(Path.Combine(dir, "merges.txt"), ["#version: 0.2", "Ġ Ġ", "broken"]);
        var e = Assert.Throws<TokenizerLoadException>(() => MolmoTokenizer.FromDirectory(dir));
        Assert.EndsWith("merges.txt", e.FilePath);
        Assert.Contains("line 3", e.Message);
    }

    [Fact]
    public void UnknownTokenizerClassIsNamed()
    {
        var dir = CopyQwenFiles("tokenizer_config.json");
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "{\"tokenizer_class\": \"LlamaTokenizer\"}");
        var e = Assert.Throws<TokenizerLoadException>(() => MolmoTokenizer.FromDirectory(dir));
        Assert.Contains("LlamaTokenizer", e.Message);
    }

    [Fact]
    public void TokenizerWithoutMolmoTokensIsRefused()
    {
        var dir = CopyQwenFiles("added_tokens.json", "tokenizer_config.json", "special_tokens_map.json");
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "{\"tokenizer_class\": \"Qwen2Tokenizer\", \"eos_token\": \"<|endoftext|>\"}");
        File.WriteAllText(Path.Combine(dir, "added_tokens.json"), "{\"<|endoftext|>\": 151643}");
        var e = Assert.Throws<TokenizerLoadException>(() => MolmoTokenizer.FromDirectory(dir));
        Assert.Contains(MolmoTokenizer.ImStartToken, e.Message);
    }

    [Fact]
    public void TokenizerJsonIsPreferredOverSlowFiles()
    {
        // A folder with MolmoE's tokenizer.json and 7B-D's vocab.json loads the tokenizer.json.
        var dir = CopyQwenFiles();
        File.Copy(Path.Combine(TokenizerFixtures.MolmoEDir, "tokenizer.json"), Path.Combine(dir, "tokenizer.json"));
        var tok = MolmoTokenizer.FromDirectory(dir);
        Assert.EndsWith("tokenizer.json", tok.Source);
        Assert.Equal(TokenizerFixtures.MolmoE.VocabSize, tok.VocabSize);
    }

    [Fact]
    public void AFilePathMeansItsFolder()
    {
        var tok = MolmoTokenizer.FromDirectory(Path.Combine(TokenizerFixtures.MolmoEDir, "tokenizer.json"));
        Assert.Equal(TokenizerFixtures.MolmoE.SpecialTokens, tok.SpecialTokens);
    }

    [Fact]
    public async Task AsyncLoadGivesTheSameTokenizer()
    {
        var tok = await MolmoTokenizer.FromDirectoryAsync(TokenizerFixtures.QwenDir);
        Assert.Equal(TokenizerFixtures.Qwen.SpecialTokens, tok.SpecialTokens);
        Assert.Equal(TokenizerFixtures.Qwen.Encode("Hello world"), tok.Encode("Hello world"));
    }
}
