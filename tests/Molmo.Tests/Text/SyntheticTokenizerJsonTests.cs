using System.Text.Json;
using System.Text.Json.Nodes;
using Molmo.TestSupport;
using Molmo.Text;

namespace Molmo.Tests.Text;

/// <summary>The tokenizer.json loader on small hand-made files: options, merges, and broken inputs.</summary>
public class SyntheticTokenizerJsonTests
{
    static readonly string[] MolmoTokens =
        [MolmoTokenizer.ImStartToken, MolmoTokenizer.ImEndToken, MolmoTokenizer.ImPatchToken, MolmoTokenizer.ImColToken, MolmoTokenizer.ImageToken];

    /// <summary>
    /// A byte-level BPE over the 256 single-byte tokens (ids 0–255) plus the given merges (ids from 256 on),
    /// then &lt;|endoftext|&gt; and the five Molmo tokens as special added tokens.
    /// </summary>
    static JsonObject Build(string[] merges, JsonNode? preTokenizer = null, JsonNode? normalizer = null, bool ignoreMerges = false)
    {
        var vocab = new JsonObject();
        int next = 0;
        for (int b = 0; b < 256; b++) vocab[ByteLevelAlphabet.ByteToChar((byte)b).ToString()] = next++;
        foreach (var m in merges)
        {
            var merged = m.Replace(" ", "");
            if (!vocab.ContainsKey(merged)) vocab[merged] = next++;
        }
        var added = new JsonArray();
        foreach (var t in new[] { "<|endoftext|>" }.Concat(MolmoTokens))
            added.Add(new JsonObject { ["id"] = next++, ["content"] = t, ["special"] = true });
        return new JsonObject
        {
            ["added_tokens"] = added,
            ["normalizer"] = normalizer,
            ["pre_tokenizer"] = preTokenizer ?? new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = true },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel" },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["ignore_merges"] = ignoreMerges,
                ["vocab"] = vocab,
                ["merges"] = new JsonArray(merges.Select(m => (JsonNode)JsonValue.Create(m)!).ToArray()),
            },
        };
    }

    static MolmoTokenizer Load(JsonObject tokenizerJson)
    {
        var dir = TestPaths.NewTempDir("molmo-tokjson");
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), tokenizerJson.ToJsonString());
        return MolmoTokenizer.FromDirectory(dir);
    }

    static string[] Pieces(MolmoTokenizer tok, string text) => tok.Encode(text).Select(id => tok.IdToToken(id)!).ToArray();

    [Fact]
    public void MergesApplyInRankOrder()
    {
        var tok = Load(Build(["Ġ t", "h e", "Ġt he"]));
        Assert.Equal(["Ġthe", "Ġ", "h", "a", "t"], Pieces(tok, " the hat"));
        Assert.Equal(["Ġthe"], Pieces(tok, " the"));
        Assert.Equal(["t", "he"], Pieces(tok, "the"));
    }

    [Fact]
    public void MergesMayBeGivenAsPairs()
    {
        var json = Build(["h e"]);
        json["model"]!["merges"] = new JsonArray(new JsonArray("h", "e"));
        Assert.Equal(["he"], Pieces(Load(json), "he"));
    }

    [Fact]
    public void SpecialIdsComeFromTheAddedTokens()
    {
        var tok = Load(Build([]));
        Assert.Equal(256, tok.EosId);
        Assert.Equal(256, tok.BosId);
        Assert.Equal(new SpecialTokenIds(257, 258, 259, 260, 261, 256, 256), tok.SpecialTokens);
        Assert.Equal(262, tok.VocabSize);
    }

    [Fact]
    public void SplitRegexPreTokenizerIsUsed()
    {
        // Qwen2-style: a Split on the Qwen2 pattern then ByteLevel without regex; digits are split one by one.
        var pre = new JsonObject
        {
            ["type"] = "Sequence",
            ["pretokenizers"] = new JsonArray(
                new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+" }, ["behavior"] = "Isolated", ["invert"] = false },
                new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = false }),
        };
        var tok = Load(Build(["1 2"], pre));
        Assert.Equal(["1", "2"], Pieces(tok, "12"));
        Assert.Equal(["12"], Pieces(Load(Build(["1 2"])), "12")); // GPT-2 regex keeps digit runs together
    }

    [Fact]
    public void CustomSplitRegexRunsAsARegex()
    {
        var pre = new JsonObject
        {
            ["type"] = "Sequence",
            ["pretokenizers"] = new JsonArray(
                new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = @"\p{N}{1,3}|[^\p{N}]+" }, ["behavior"] = "Isolated" },
                new JsonObject { ["type"] = "ByteLevel", ["use_regex"] = false }),
        };
        var tok = Load(Build(["1 2", "12 3"], pre));
        Assert.Equal(["123", "4"], Pieces(tok, "1234"));
    }

    [Fact]
    public void NfcNormalizerInASequenceIsApplied()
    {
        var nfc = new JsonObject { ["type"] = "Sequence", ["normalizers"] = new JsonArray(new JsonObject { ["type"] = "NFC" }) };
        var tok = Load(Build([], normalizer: nfc));
        Assert.Equal(tok.Encode("\u00E9"), tok.Encode("e\u0301"));
        var plain = Load(Build([]));
        Assert.NotEqual(plain.Encode("\u00E9"), plain.Encode("e\u0301"));
    }

    [Fact]
    public void IgnoreMergesTakesWholeWordsFromTheVocabulary()
    {
        // "abc" is in the vocabulary (via the merge "ab c") but the merge "a b" is ranked after "b c", which would otherwise win.
        var merges = new[] { "b c", "a b", "ab c" };
        var json = Build(merges, ignoreMerges: true);
        Assert.Equal(["abc"], Pieces(Load(json), "abc"));
        Assert.Equal(["a", "bc"], Pieces(Load(Build(merges)), "abc"));
    }

    [Fact]
    public void UnsupportedPieceIsNamed()
    {
        var json = Build([]);
        json["normalizer"] = new JsonObject { ["type"] = "Lowercase" };
        var e = Assert.Throws<TokenizerLoadException>(() => Load(json));
        Assert.Contains("Lowercase", e.Message);

        json = Build([]);
        json["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true };
        e = Assert.Throws<TokenizerLoadException>(() => Load(json));
        Assert.Contains("add_prefix_space", e.Message);

        json = Build([]);
        json["decoder"] = new JsonObject { ["type"] = "WordPiece" };
        e = Assert.Throws<TokenizerLoadException>(() => Load(json));
        Assert.Contains("decoder", e.Message);
    }

    [Fact]
    public void MissingVocabFieldIsNamed()
    {
        var json = Build([]);
        ((JsonObject)json["model"]!).Remove("vocab");
        var e = Assert.Throws<TokenizerLoadException>(() => Load(json));
        Assert.Contains("\"vocab\"", e.Message);
        Assert.EndsWith("tokenizer.json", e.FilePath);
    }

    [Fact]
    public void MergeOfUnknownTokensIsReported()
    {
        var json = Build([]);
        json["model"]!["merges"] = new JsonArray("zz qq");
        var e = Assert.Throws<TokenizerLoadException>(() => Load(json));
        Assert.EndsWith("tokenizer.json", e.FilePath);
    }
}
