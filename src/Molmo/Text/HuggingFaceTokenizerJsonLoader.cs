using System.Text.Json;

namespace Molmo.Text;

/// <summary>
/// Reads a Hugging Face fast-tokenizer <c>tokenizer.json</c> holding a byte-level BPE model (GPT-2, GPT-NeoX, Qwen2,
/// cl100k style). Anything else (WordPiece, SentencePiece-style BPE, prefix spaces) is refused with a message naming
/// the field.
/// </summary>
internal static class HuggingFaceTokenizerJsonLoader
{
    public static TokenizerModelData Load(string path)
    {
        using var doc = TokenizerJson.Parse(path);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new TokenizerLoadException(path, "the top level should be a JSON object.");

        var model = TokenizerJson.Require(root, "model", path, JsonValueKind.Object);
        var type = model.TryGetProperty("type", out var t) ? t.GetString() : "BPE";
        if (type != "BPE") throw new TokenizerLoadException(path, $"model.type is \"{type}\"; only byte-level \"BPE\" is supported.");
        foreach (var field in new[] { "continuing_subword_prefix", "end_of_word_suffix" })
            if (model.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.String && v.GetString()!.Length > 0)
                throw new TokenizerLoadException(path, $"model.{field} is set; byte-level BPE with sub-word affixes is not supported.");
        bool ignoreMerges = model.TryGetProperty("ignore_merges", out var im) && im.ValueKind == JsonValueKind.True;

        var vocabElement = TokenizerJson.Require(model, "vocab", path, JsonValueKind.Object);
        var vocab = new List<KeyValuePair<string, int>>(100_000);
        foreach (var p in vocabElement.EnumerateObject())
        {
            if (!p.Value.TryGetInt32(out int id) || id < 0) throw new TokenizerLoadException(path, $"model.vocab[\"{p.Name}\"] is not a non-negative integer id.");
            vocab.Add(new(p.Name, id));
        }

        var mergesElement = TokenizerJson.Require(model, "merges", path, JsonValueKind.Array);
        var merges = new List<string>(mergesElement.GetArrayLength());
        int index = 0;
        foreach (var m in mergesElement.EnumerateArray())
        {
            string merge;
            if (m.ValueKind == JsonValueKind.String) merge = m.GetString()!;
            else if (m.ValueKind == JsonValueKind.Array && m.GetArrayLength() == 2)
            {
                var left = m[0].GetString() ?? "";
                var right = m[1].GetString() ?? "";
                if (left.Contains(' ') || right.Contains(' '))
                    throw new TokenizerLoadException(path, $"model.merges[{index}] contains a space inside a token; not a byte-level vocabulary.");
                merge = left + " " + right;
            }
            else throw new TokenizerLoadException(path, $"model.merges[{index}] should be \"left right\" or [\"left\", \"right\"].");
            merges.Add(merge);
            index++;
        }

        var added = new List<AddedToken>();
        if (root.TryGetProperty("added_tokens", out var addedElement) && addedElement.ValueKind == JsonValueKind.Array)
        {
            int k = 0;
            foreach (var a in addedElement.EnumerateArray())
            {
                if (!a.TryGetProperty("id", out var idEl) || !idEl.TryGetInt32(out int id) ||
                    !a.TryGetProperty("content", out var contentEl) || contentEl.ValueKind != JsonValueKind.String)
                    throw new TokenizerLoadException(path, $"added_tokens[{k}] needs an integer \"id\" and a string \"content\".");
                bool special = a.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True;
                added.Add(new AddedToken(contentEl.GetString()!, id, special));
                k++;
            }
        }

        bool nfc = ReadNormalizer(root.TryGetProperty("normalizer", out var n) ? n : default, path);
        string pattern = ReadPreTokenizer(root.TryGetProperty("pre_tokenizer", out var pt) ? pt : default, path);
        if (root.TryGetProperty("decoder", out var dec) && dec.ValueKind == JsonValueKind.Object)
        {
            var decType = dec.TryGetProperty("type", out var dt) ? dt.GetString() : null;
            if (decType != "ByteLevel")
                throw new TokenizerLoadException(path, $"decoder.type is \"{decType}\"; only the \"ByteLevel\" decoder is supported.");
        }

        return new TokenizerModelData
        {
            Vocabulary = vocab,
            Merges = merges,
            AddedTokens = added,
            PreTokenizerPattern = pattern,
            Nfc = nfc,
            IgnoreMerges = ignoreMerges,
            Source = path,
        };
    }

    static bool ReadNormalizer(JsonElement n, string path)
    {
        if (n.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null) return false;
        var type = n.TryGetProperty("type", out var t) ? t.GetString() : null;
        switch (type)
        {
            case "NFC": return true;
            case "Sequence":
                bool nfc = false;
                if (n.TryGetProperty("normalizers", out var list) && list.ValueKind == JsonValueKind.Array)
                    foreach (var item in list.EnumerateArray()) nfc |= ReadNormalizer(item, path);
                return nfc;
            default:
                throw new TokenizerLoadException(path, $"normalizer type \"{type}\" is not supported (only NFC or none).");
        }
    }

    // Returns the split pattern. Supported: ByteLevel(use_regex=true) alone (GPT-2 pattern), or
    // Sequence[Split(Regex, Isolated), ByteLevel(use_regex=false)].
    static string ReadPreTokenizer(JsonElement p, string path)
    {
        if (p.ValueKind != JsonValueKind.Object) throw new TokenizerLoadException(path, "pre_tokenizer is missing; a byte-level BPE tokenizer needs one.");
        string? pattern = null;
        bool byteLevel = false;
        void Visit(JsonElement e)
        {
            var type = e.TryGetProperty("type", out var t) ? t.GetString() : null;
            switch (type)
            {
                case "Sequence":
                    if (e.TryGetProperty("pretokenizers", out var list) && list.ValueKind == JsonValueKind.Array)
                        foreach (var item in list.EnumerateArray()) Visit(item);
                    break;
                case "ByteLevel":
                    byteLevel = true;
                    if (e.TryGetProperty("add_prefix_space", out var aps) && aps.ValueKind == JsonValueKind.True)
                        throw new TokenizerLoadException(path, "pre_tokenizer ByteLevel.add_prefix_space = true is not supported.");
                    bool useRegex = !e.TryGetProperty("use_regex", out var ur) || ur.ValueKind != JsonValueKind.False;
                    if (useRegex)
                    {
                        if (pattern != null) throw new TokenizerLoadException(path, "pre_tokenizer has both a Split regex and ByteLevel.use_regex; not supported.");
                        pattern = PreTokenizerPatterns.Gpt2;
                    }
                    break;
                case "Split":
                    if (pattern != null) throw new TokenizerLoadException(path, "pre_tokenizer has more than one split pattern; not supported.");
                    var behavior = e.TryGetProperty("behavior", out var b) ? b.GetString() : null;
                    bool invert = e.TryGetProperty("invert", out var inv) && inv.ValueKind == JsonValueKind.True;
                    if (behavior != "Isolated" || invert)
                        throw new TokenizerLoadException(path, $"pre_tokenizer Split with behavior \"{behavior}\" (invert {invert}) is not supported (only Isolated).");
                    if (!e.TryGetProperty("pattern", out var pat) || !pat.TryGetProperty("Regex", out var rx) || rx.ValueKind != JsonValueKind.String)
                        throw new TokenizerLoadException(path, "pre_tokenizer Split needs pattern.Regex.");
                    pattern = rx.GetString();
                    break;
                default:
                    throw new TokenizerLoadException(path, $"pre_tokenizer type \"{type}\" is not supported.");
            }
        }
        Visit(p);
        if (!byteLevel) throw new TokenizerLoadException(path, "pre_tokenizer has no ByteLevel step; only byte-level BPE is supported.");
        return pattern ?? throw new TokenizerLoadException(path, "pre_tokenizer defines no split pattern.");
    }
}
