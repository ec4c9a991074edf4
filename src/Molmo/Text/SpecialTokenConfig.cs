using System.Text.Json;

namespace Molmo.Text;

/// <summary>
/// The special-token names of <c>tokenizer_config.json</c> and <c>special_tokens_map.json</c> (both optional):
/// which strings are EOS and BOS, and every string named as a special token (bos/eos/unk/pad/…,
/// additional_special_tokens). tokenizer_config.json wins where both name a token.
/// </summary>
internal sealed class SpecialTokenConfig
{
    public string? Eos { get; private set; }
    public string? Bos { get; private set; }
    public HashSet<string> SpecialNames { get; } = new(StringComparer.Ordinal);

    /// <summary>tokenizer_config.json <c>clean_up_tokenization_spaces</c> (false when absent).</summary>
    public bool CleanUpTokenizationSpaces { get; private set; }

    public static SpecialTokenConfig Read(string dir)
    {
        var result = new SpecialTokenConfig();
        foreach (var name in new[] { "tokenizer_config.json", "special_tokens_map.json" })
        {
            var path = Path.Combine(dir, name);
            if (!File.Exists(path)) continue;
            using var doc = TokenizerJson.Parse(path);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new TokenizerLoadException(path, "the top level should be a JSON object.");
            if (name == "tokenizer_config.json" && root.TryGetProperty("clean_up_tokenization_spaces", out var cleanUp))
                result.CleanUpTokenizationSpaces = cleanUp.ValueKind == JsonValueKind.True;
            result.Eos ??= TokenizerJson.TokenContent(root, "eos_token");
            result.Bos ??= TokenizerJson.TokenContent(root, "bos_token");
            foreach (var field in new[] { "bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token" })
                if (TokenizerJson.TokenContent(root, field) is { } s) result.SpecialNames.Add(s);
            if (root.TryGetProperty("additional_special_tokens", out var list) && list.ValueKind == JsonValueKind.Array)
                foreach (var item in list.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.String) result.SpecialNames.Add(item.GetString()!);
                    else if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String)
                        result.SpecialNames.Add(c.GetString()!);
                }
        }
        return result;
    }
}
