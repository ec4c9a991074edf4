namespace Molmo.Text;

/// <summary>Everything read from a model folder's tokenizer files, before the BPE model is built.</summary>
internal sealed class TokenizerModelData
{
    /// <summary>Byte-level BPE vocabulary (token string in the GPT-2 byte alphabet → id).</summary>
    public required List<KeyValuePair<string, int>> Vocabulary { get; init; }

    /// <summary>Merges in rank order, each "left right".</summary>
    public required List<string> Merges { get; init; }

    public required List<AddedToken> AddedTokens { get; init; }

    /// <summary>Pre-tokenizer regex (see <see cref="PreTokenizerPatterns"/>).</summary>
    public required string PreTokenizerPattern { get; init; }

    /// <summary>Apply NFC before pre-tokenisation.</summary>
    public required bool Nfc { get; init; }

    /// <summary>Hugging Face <c>ignore_merges</c>: a word that is itself in the vocabulary is one token.</summary>
    public bool IgnoreMerges { get; init; }

    /// <summary>Which file the vocabulary came from (for messages).</summary>
    public required string Source { get; init; }
}
