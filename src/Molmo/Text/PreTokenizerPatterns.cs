using System.Text.RegularExpressions;

namespace Molmo.Text;

/// <summary>
/// The regular expressions that split text into words before byte-level BPE (spec §4.1). The two known patterns are
/// source-generated (no start-up cost); any other pattern from a tokenizer.json is compiled at load.
/// </summary>
internal static partial class PreTokenizerPatterns
{
    /// <summary>GPT-2 / GPT-NeoX (Hugging Face ByteLevel pre-tokenizer with use_regex); MolmoE-1B.</summary>
    public const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    /// <summary>Qwen2 (single digits, case-insensitive contractions); Molmo-7B-D and 72B.</summary>
    public const string Qwen2 = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    [GeneratedRegex(Gpt2, RegexOptions.CultureInvariant)]
    private static partial Regex Gpt2Regex();

    [GeneratedRegex(Qwen2, RegexOptions.CultureInvariant)]
    private static partial Regex Qwen2Regex();

    public static Regex Get(string pattern) => pattern switch
    {
        Gpt2 => Gpt2Regex(),
        Qwen2 => Qwen2Regex(),
        _ => new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled),
    };
}
