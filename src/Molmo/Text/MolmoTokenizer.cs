using System.Text;
using Microsoft.ML.Tokenizers;
using Molmo.Text.Normalization;

namespace Molmo.Text;

/// <summary>
/// Molmo's byte-level BPE tokenizer (spec §4.1): Qwen2 for 7B-D / 72B, GPT-NeoX for MolmoE-1B. Added tokens
/// (<c>&lt;|endoftext|&gt;</c>, the five Molmo image tokens, …) are matched first, on the raw text; the text between
/// them is NFC-normalised (when the tokenizer says so), split by the pre-tokenizer regex and BPE-encoded by
/// Microsoft.ML.Tokenizers. <see cref="Encode"/> adds no BOS/EOS. Thread-safe after loading.
/// </summary>
public sealed class MolmoTokenizer
{
    /// <summary>The five Molmo token strings, in the order of <see cref="SpecialTokenIds"/>.</summary>
    public const string ImStartToken = "<im_start>", ImEndToken = "<im_end>", ImPatchToken = "<im_patch>", ImColToken = "<im_col>", ImageToken = "<|image|>";

    /// <summary>The EOS string used when the configuration files name none.</summary>
    public const string DefaultEosToken = "<|endoftext|>";

    static readonly UTF8Encoding Utf8Replacing = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    readonly BpeTokenizer _bpe;
    readonly WordSplitter _splitter;
    readonly bool _nfc;
    readonly bool _ignoreMerges;
    readonly AddedTokenMatcher _matcher;
    readonly string?[] _idToToken;
    readonly bool[] _isAdded;
    readonly bool[] _isSpecial;
    readonly byte[]?[] _tokenBytes;
    readonly Dictionary<string, int> _addedByContent;

    MolmoTokenizer(TokenizerModelData data, SpecialTokenConfig config, string dir)
    {
        Source = data.Source;
        _nfc = data.Nfc;
        _ignoreMerges = data.IgnoreMerges;
        _splitter = WordSplitter.For(data.PreTokenizerPattern);

        int maxId = -1;
        foreach (var kv in data.Vocabulary) maxId = Math.Max(maxId, kv.Value);
        foreach (var a in data.AddedTokens) maxId = Math.Max(maxId, a.Id);
        // Guards against a corrupt id sizing the lookup arrays (the largest real vocabularies are ~260 K).
        if (maxId >= 16_000_000) throw new TokenizerLoadException(data.Source, $"token id {maxId} is implausibly large.");
        if (maxId < 0) throw new TokenizerLoadException(data.Source, "the vocabulary is empty.");
        VocabSize = maxId + 1;

        _idToToken = new string?[VocabSize];
        _isAdded = new bool[VocabSize];
        _isSpecial = new bool[VocabSize];
        _tokenBytes = new byte[VocabSize][];
        foreach (var kv in data.Vocabulary) _idToToken[kv.Value] = kv.Key;

        _addedByContent = new Dictionary<string, int>(StringComparer.Ordinal);
        var added = new List<AddedToken>(data.AddedTokens.Count);
        foreach (var a in data.AddedTokens)
        {
            // Slow tokenizers also treat every string named in the special-token fields as special.
            var token = !a.Special && config.SpecialNames.Contains(a.Content) ? a with { Special = true } : a;
            _idToToken[token.Id] = token.Content;
            _isAdded[token.Id] = true;
            _isSpecial[token.Id] = token.Special;
            _addedByContent[token.Content] = token.Id;
            added.Add(token);
        }
        AddedTokens = added;
        _matcher = new AddedTokenMatcher(added);

        try
        {
            _bpe = BpeTokenizer.Create(new BpeOptions(data.Vocabulary) { Merges = data.Merges, ByteLevel = true });
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            throw new TokenizerLoadException(data.Source, "the BPE vocabulary or merges are inconsistent: " + e.Message, e);
        }

        var eosString = config.Eos ?? DefaultEosToken;
        int eos = TokenToId(eosString) ?? throw new TokenizerLoadException(dir, $"the EOS token \"{eosString}\" is not in the vocabulary.");
        // Spec §4.1: Qwen2 has no BOS, the processor prepends EOS instead.
        int bos = config.Bos is { } b && TokenToId(b) is int bosId ? bosId : eos;
        int Molmo(string s) => TokenToId(s) ?? throw new TokenizerLoadException(dir,
            $"the tokenizer has no \"{s}\" token; a Molmo tokenizer defines {ImStartToken} {ImEndToken} {ImPatchToken} {ImColToken} {ImageToken} as added tokens.");
        CleanUpTokenizationSpaces = config.CleanUpTokenizationSpaces;
        SpecialTokens = new SpecialTokenIds(Molmo(ImStartToken), Molmo(ImEndToken), Molmo(ImPatchToken), Molmo(ImColToken), Molmo(ImageToken), bos, eos);
    }

    /// <summary>
    /// Loads the tokenizer of a model folder (or of the folder holding the given file): <c>tokenizer.json</c> when present, otherwise <c>vocab.json</c> +
    /// <c>merges.txt</c> + <c>tokenizer_config.json</c> (+ <c>added_tokens.json</c>, <c>special_tokens_map.json</c>).
    /// Throws <see cref="TokenizerLoadException"/> naming the missing or broken file.
    /// </summary>
    public static MolmoTokenizer FromDirectory(string modelDir)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelDir);
        // A path to one of the tokenizer files (tokenizer.json, vocab.json, …) means its folder.
        if (File.Exists(modelDir)) modelDir = Path.GetDirectoryName(Path.GetFullPath(modelDir))!;
        if (!Directory.Exists(modelDir)) throw new TokenizerLoadException(modelDir, "model folder not found.");
        var json = Path.Combine(modelDir, "tokenizer.json");
        var data = File.Exists(json) ? HuggingFaceTokenizerJsonLoader.Load(json) : SlowTokenizerFilesLoader.Load(modelDir);
        return new MolmoTokenizer(data, SpecialTokenConfig.Read(modelDir), modelDir);
    }

    /// <summary>
    /// <see cref="FromDirectory"/> on the thread pool, so that a caller can load the model weights meanwhile
    /// (building the BPE tables takes a few hundred milliseconds).
    /// </summary>
    public static Task<MolmoTokenizer> FromDirectoryAsync(string modelDir, CancellationToken cancellationToken = default) =>
        Task.Run(() => FromDirectory(modelDir), cancellationToken);

    /// <summary>The file the vocabulary was read from.</summary>
    public string Source { get; }

    /// <summary>Highest token id + 1 (7B-D: 152069). The model's embedding may have more rows.</summary>
    public int VocabSize { get; }

    /// <summary>BOS, EOS and the five Molmo image-layout tokens.</summary>
    public SpecialTokenIds SpecialTokens { get; }

    /// <summary>Id of <c>&lt;|endoftext|&gt;</c> (or the configured EOS): generation stops here.</summary>
    public int EosId => SpecialTokens.Eos;

    /// <summary>Id prepended to every sequence (EOS when the tokenizer has no BOS).</summary>
    public int BosId => SpecialTokens.Bos;

    /// <summary>The added tokens (matched before normalisation), in id order.</summary>
    public IReadOnlyList<AddedToken> AddedTokens { get; }

    /// <summary>True for special added tokens (EOS, image tokens, padding extras…), which decoding skips by default.</summary>
    public bool IsSpecial(int id) => (uint)id < (uint)VocabSize && _isSpecial[id];

    /// <summary>The token string (byte-level form for BPE tokens, e.g. "ĠUser"; content for added tokens), or null for an unknown id.</summary>
    public string? IdToToken(int id) => (uint)id < (uint)VocabSize ? _idToToken[id] : null;

    /// <summary>The id of an added token or a vocabulary entry (byte-level form), or null.</summary>
    public int? TokenToId(string token)
    {
        if (_addedByContent.TryGetValue(token, out int id)) return id;
        return _bpe.Vocabulary.TryGetValue(token, out id) ? id : null;
    }

    /// <summary>Encodes text to ids; no BOS/EOS is added. Added tokens in the text become their ids.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        var segments = new List<AddedTokenMatcher.Segment>();
        _matcher.Split(text, segments);
        foreach (var seg in segments)
        {
            if (seg.TokenId >= 0) ids.Add(seg.TokenId);
            else EncodePlain(text.Substring(seg.Start, seg.Length), ids);
        }
        return ids.ToArray();
    }

    void EncodePlain(string text, List<int> ids)
    {
        if (_nfc) text = NfcNormalizer.Normalize(text);
        var words = new List<(int Start, int Length)>();
        _splitter.Split(text, words);
        foreach (var (start, length) in words)
        {
            var word = text.AsSpan(start, length);
            if (_ignoreMerges && TryWholeWord(word, out int id))
            {
                ids.Add(id);
                continue;
            }
            ids.AddRange(_bpe.EncodeToIds(word, considerPreTokenization: false, considerNormalization: false));
        }
    }

    /// <summary>The words the pre-tokenizer regex splits (normalised) plain text into; for tests and diagnostics.</summary>
    internal IEnumerable<string> PreTokenize(string text)
    {
        if (_nfc) text = NfcNormalizer.Normalize(text);
        var words = new List<(int Start, int Length)>();
        _splitter.Split(text, words);
        return words.Select(w => text.Substring(w.Start, w.Length)).ToList();
    }

    bool TryWholeWord(ReadOnlySpan<char> word, out int id)
    {
        var bytes = Encoding.UTF8.GetBytes(word.ToArray());
        var sb = new StringBuilder(bytes.Length);
        foreach (var b in bytes) sb.Append(ByteLevelAlphabet.ByteToChar(b));
        return _bpe.Vocabulary.TryGetValue(sb.ToString(), out id);
    }

    /// <summary>
    /// Decodes ids to text. With <paramref name="skipSpecialTokens"/> special added tokens are dropped (how Molmo shows
    /// answers). The bytes of all tokens are joined first, then read as UTF-8 with U+FFFD for invalid sequences
    /// (Python errors="replace"). Ids outside the vocabulary are skipped, as the Hugging Face fast tokenizer does.
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var buffer = new List<byte>(64);
        foreach (int id in ids)
        {
            if (!IncludeInDecode(id, skipSpecialTokens)) continue;
            buffer.AddRange(TokenBytes(id));
        }
        return Utf8Replacing.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(buffer));
    }

    /// <summary>
    /// tokenizer_config.json's <c>clean_up_tokenization_spaces</c> (7B-D: false; MolmoE-1B: true). When true, the
    /// Hugging Face <c>decode</c> also applies <see cref="CleanUpSpaces"/>; <see cref="Decode"/> does not, so that
    /// decoding stays the exact inverse of encoding and streaming: apply it to a finished answer to match the reference.
    /// </summary>
    public bool CleanUpTokenizationSpaces { get; }

    /// <summary>
    /// Hugging Face <c>clean_up_tokenization</c>: removes the space before . ? ! , and English contractions
    /// (" ." → ".", " ' " → "'", " n't" → "n't", " 's" → "'s", …), one replacement pass per pattern, in that order.
    /// </summary>
    public static string CleanUpSpaces(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",").Replace(" ' ", "'")
            .Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" 's", "'s").Replace(" 've", "'ve").Replace(" 're", "'re");
    }

    /// <summary>A new incremental decoder for streaming generation.</summary>
    public StreamingDetokenizer CreateStreamingDetokenizer(bool skipSpecialTokens = true) => new(this, skipSpecialTokens);

    internal bool IncludeInDecode(int id, bool skipSpecialTokens) =>
        (uint)id < (uint)VocabSize && _idToToken[id] != null && !(skipSpecialTokens && _isSpecial[id]);

    /// <summary>The UTF-8 bytes token <paramref name="id"/> stands for (computed on first use).</summary>
    internal byte[] TokenBytes(int id)
    {
        var cached = _tokenBytes[id];
        if (cached != null) return cached;
        var token = _idToToken[id] ?? throw new ArgumentOutOfRangeException(nameof(id), id, "no token has this id.");
        // Added tokens are literal text; BPE tokens are in the byte-level alphabet.
        var bytes = _isAdded[id] ? Encoding.UTF8.GetBytes(token) : ByteLevelAlphabet.TokenToBytes(token);
        _tokenBytes[id] = bytes;
        return bytes;
    }
}
