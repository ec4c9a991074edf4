namespace Molmo.Text;

/// <summary>The regular expressions that split text into words before byte-level BPE (spec §4.1).</summary>
internal static class PreTokenizerPatterns
{
    /// <summary>GPT-2 / GPT-NeoX (Hugging Face ByteLevel pre-tokenizer with use_regex); MolmoE-1B.</summary>
    public const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>Qwen2 (single digits, case-insensitive contractions); Molmo-7B-D and 72B.</summary>
    public const string Qwen2 = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
}
