using System.Text.Json;
using Molmo.TestSupport;
using Molmo.Text;

namespace Molmo.Tests.Text;

/// <summary>Shared, lazily loaded tokenizers and golden files (loading 7B-D once keeps the suite fast).</summary>
internal static class TokenizerFixtures
{
    static readonly Lazy<MolmoTokenizer> _qwen = new(() => MolmoTokenizer.FromDirectory(QwenDir));
    static readonly Lazy<MolmoTokenizer> _molmoE = new(() => MolmoTokenizer.FromDirectory(MolmoEDir));

    public static string QwenDir => Path.Combine(TestPaths.Models, "molmo-7b-d-0924");
    public static string MolmoEDir => Path.Combine(TestPaths.Models, "molmoe-1b-0924");

    /// <summary>The 7B-D tokenizer (vocab.json + merges.txt + added_tokens.json + tokenizer_config.json).</summary>
    public static MolmoTokenizer Qwen => _qwen.Value;

    /// <summary>The MolmoE-1B tokenizer (tokenizer.json).</summary>
    public static MolmoTokenizer MolmoE => _molmoE.Value;

    public sealed record GoldenCase(string Text, int[] Ids, string DecodedSkipSpecial);

    public static IReadOnlyList<GoldenCase> GoldenTokenizerCases() =>
        _golden.Value;

    static readonly Lazy<IReadOnlyList<GoldenCase>> _golden = new(() =>
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TestPaths.Golden, "tokenizer.json")));
        return doc.RootElement.EnumerateArray()
            .Select(e => new GoldenCase(
                e.GetProperty("text").GetString()!,
                e.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
                e.GetProperty("decoded_skip_special").GetString()!))
            .ToList();
    });

    public static JsonDocument PreprocessingIndex() =>
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TestPaths.Golden, "preprocessing", "index.json")));

    /// <summary>Indices 0..n-1 of the golden tokenizer cases, for xunit theories.</summary>
    public static TheoryData<int> GoldenCaseIndices()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < GoldenTokenizerCases().Count; i++) data.Add(i);
        return data;
    }
}
