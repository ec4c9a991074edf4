using System.Globalization;
using System.Text.Json;

namespace Molmo.Text;

/// <summary>
/// Reads the "slow" tokenizer files of a byte-level BPE tokenizer: <c>vocab.json</c>, <c>merges.txt</c>,
/// <c>tokenizer_config.json</c> (class, added-token flags) and, when present, <c>added_tokens.json</c>
/// (special-token names come from <see cref="SpecialTokenConfig"/>). The pre-tokenizer follows <c>tokenizer_class</c>: Qwen2Tokenizer = Qwen2 regex
/// with NFC, GPT2Tokenizer = GPT-2 regex without normalisation.
/// </summary>
internal static class SlowTokenizerFilesLoader
{
    public static TokenizerModelData Load(string dir)
    {
        string vocabPath = Path.Combine(dir, "vocab.json");
        string mergesPath = Path.Combine(dir, "merges.txt");
        string configPath = Path.Combine(dir, "tokenizer_config.json");
        string addedPath = Path.Combine(dir, "added_tokens.json");
        foreach (var required in new[] { vocabPath, mergesPath, configPath })
            if (!File.Exists(required))
                throw new TokenizerLoadException(required,
                    "file not found. A Molmo tokenizer folder needs either tokenizer.json or vocab.json + merges.txt + tokenizer_config.json.");

        // tokenizer_config.json: class and the added tokens with their "special" flags.
        string pattern;
        bool nfc;
        var added = new Dictionary<int, AddedToken>();
        using (var config = TokenizerJson.Parse(configPath))
        {
            var root = config.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new TokenizerLoadException(configPath, "the top level should be a JSON object.");
            var cls = root.TryGetProperty("tokenizer_class", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
            (pattern, nfc) = cls switch
            {
                "Qwen2Tokenizer" or "Qwen2TokenizerFast" => (PreTokenizerPatterns.Qwen2, true),
                "GPT2Tokenizer" or "GPT2TokenizerFast" => (PreTokenizerPatterns.Gpt2, false),
                _ => throw new TokenizerLoadException(configPath,
                    $"tokenizer_class \"{cls}\" is not supported with vocab.json/merges.txt (known: Qwen2Tokenizer, GPT2Tokenizer); provide a tokenizer.json instead."),
            };
            if (root.TryGetProperty("add_prefix_space", out var aps) && aps.ValueKind == JsonValueKind.True)
                throw new TokenizerLoadException(configPath, "add_prefix_space = true is not supported.");
            if (root.TryGetProperty("added_tokens_decoder", out var dec) && dec.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in dec.EnumerateObject())
                {
                    if (!int.TryParse(p.Name, NumberStyles.None, CultureInfo.InvariantCulture, out int id))
                        throw new TokenizerLoadException(configPath, $"added_tokens_decoder key \"{p.Name}\" is not an integer id.");
                    var content = TokenizerJson.TokenContent(dec, p.Name)
                        ?? throw new TokenizerLoadException(configPath, $"added_tokens_decoder[\"{p.Name}\"] has no \"content\".");
                    bool special = p.Value.ValueKind == JsonValueKind.Object && p.Value.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True;
                    added[id] = new AddedToken(content, id, special);
                }
            }
        }

        if (File.Exists(addedPath))
        {
            using var addedDoc = TokenizerJson.Parse(addedPath);
            if (addedDoc.RootElement.ValueKind != JsonValueKind.Object) throw new TokenizerLoadException(addedPath, "the top level should be a JSON object of token → id.");
            foreach (var p in addedDoc.RootElement.EnumerateObject())
            {
                if (!p.Value.TryGetInt32(out int id) || id < 0) throw new TokenizerLoadException(addedPath, $"\"{p.Name}\" should map to a non-negative integer id.");
                if (added.TryGetValue(id, out var known) && known.Content != p.Name)
                    throw new TokenizerLoadException(addedPath, $"id {id} is \"{p.Name}\" here but \"{known.Content}\" in tokenizer_config.json.");
                added.TryAdd(id, new AddedToken(p.Name, id, false));
            }
        }
        // The two big files are independent: read merges.txt on the thread pool while vocab.json is parsed here.
        var mergesTask = Task.Run(() => ReadMerges(mergesPath));
        var vocab = ReadVocab(vocabPath);
        List<string> merges;
        try
        {
            merges = mergesTask.GetAwaiter().GetResult();
        }
        catch (IOException e)
        {
            throw new TokenizerLoadException(mergesPath, "cannot be read: " + e.Message, e);
        }
        return new TokenizerModelData
        {
            Vocabulary = vocab,
            Merges = merges,
            AddedTokens = added.Values.OrderBy(a => a.Id).ToList(),
            PreTokenizerPattern = pattern,
            Nfc = nfc,
            Source = vocabPath,
        };
    }

    static List<KeyValuePair<string, int>> ReadVocab(string path)
    {
        using var doc = TokenizerJson.Parse(path);
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new TokenizerLoadException(path, "the top level should be a JSON object of token → id.");
        var vocab = new List<KeyValuePair<string, int>>(160_000);
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (!p.Value.TryGetInt32(out int id) || id < 0) throw new TokenizerLoadException(path, $"\"{p.Name}\" should map to a non-negative integer id.");
            vocab.Add(new(p.Name, id));
        }
        if (vocab.Count == 0) throw new TokenizerLoadException(path, "the vocabulary is empty.");
        return vocab;
    }

    static List<string> ReadMerges(string path)
    {
        var merges = new List<string>(160_000);
        int lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal)) continue;
            if (line.Length == 0) continue;
            int space = line.IndexOf(' ');
            if (space <= 0 || space == line.Length - 1 || line.IndexOf(' ', space + 1) >= 0)
                throw new TokenizerLoadException(path, $"line {lineNumber} should hold two tokens separated by one space, not \"{line}\".");
            merges.Add(line);
        }
        return merges;
    }
}
