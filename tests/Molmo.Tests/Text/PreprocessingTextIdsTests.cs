using System.Text;
using System.Text.Json;
using Molmo.TestSupport;
using Molmo.Text;

namespace Molmo.Tests.Text;

/// <summary>The prompt text ids and the special ids of golden/preprocessing/index.json (real 7B-D processor).</summary>
public class PreprocessingTextIdsTests
{
    public sealed record Case(string Name, string Prompt, int[] TextTokens, int SeqLen);

    static (JsonElement Root, List<Case> Cases) Index()
    {
        using var doc = TokenizerFixtures.PreprocessingIndex();
        var root = doc.RootElement.Clone();
        var cases = root.GetProperty("cases").EnumerateArray().Select(c => new Case(
            c.GetProperty("name").GetString()!,
            c.GetProperty("prompt").GetString()!,
            c.GetProperty("text_tokens").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
            c.GetProperty("seq_len").GetInt32())).ToList();
        return (root, cases);
    }

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in Index().Cases) data.Add(c.Name);
        return data;
    }

    static Case Get(string name) => Index().Cases.Single(c => c.Name == name);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void PromptTokensMatchReference(string name)
    {
        var c = Get(name);
        Assert.Equal(c.TextTokens, PromptBuilder.EncodePrompt(TokenizerFixtures.Qwen, c.Prompt));
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void StyleArgumentGivesTheSameTokensAsAPrefixedPrompt(string name)
    {
        // Prompts such as "vqa2: What color is the car?" carry their style; passing it separately must not change the ids.
        var c = Get(name);
        int colon = c.Prompt.IndexOf(": ", StringComparison.Ordinal);
        if (colon < 0 || !PromptBuilder.KnownStyles.Contains(c.Prompt[..colon]))
        {
            Assert.Equal(c.TextTokens, PromptBuilder.EncodePrompt(TokenizerFixtures.Qwen, c.Prompt, style: null));
            return;
        }
        Assert.Equal(c.TextTokens, PromptBuilder.EncodePrompt(TokenizerFixtures.Qwen, c.Prompt[(colon + 2)..], c.Prompt[..colon]));
    }

    [Fact]
    public void SpecialIdsMatchTheGoldenIndex()
    {
        var (root, _) = Index();
        var ids = root.GetProperty("special_ids");
        var s = TokenizerFixtures.Qwen.SpecialTokens;
        Assert.Equal(ids.GetProperty(MolmoTokenizer.ImStartToken).GetInt32(), s.ImStart);
        Assert.Equal(ids.GetProperty(MolmoTokenizer.ImEndToken).GetInt32(), s.ImEnd);
        Assert.Equal(ids.GetProperty(MolmoTokenizer.ImPatchToken).GetInt32(), s.ImPatch);
        Assert.Equal(ids.GetProperty(MolmoTokenizer.ImColToken).GetInt32(), s.ImCol);
        Assert.Equal(ids.GetProperty(MolmoTokenizer.ImageToken).GetInt32(), s.Image);
        Assert.Equal(root.GetProperty("bos_id").GetInt32(), s.Bos);
        Assert.Equal(root.GetProperty("eos_id").GetInt32(), s.Eos);
        Assert.Equal(s.Eos, TokenizerFixtures.Qwen.EosId);
        Assert.Equal(s.Bos, TokenizerFixtures.Qwen.BosId);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void InputIdsAreBosImageBlockAndPromptTokens(string name)
    {
        var c = Get(name);
        var inputIds = ReadInt64Tensor(Path.Combine(TestPaths.Golden, "preprocessing", name + ".safetensors"), "input_ids");
        Assert.Equal(c.SeqLen, inputIds.Length);
        var text = PromptBuilder.EncodePrompt(TokenizerFixtures.Qwen, c.Prompt);
        var imageBlock = inputIds.AsSpan(1, inputIds.Length - 1 - text.Length);
        Assert.Equal(inputIds, PromptBuilder.BuildInputIds(TokenizerFixtures.Qwen.BosId, imageBlock, text));
        // The image block holds only the Molmo image-layout tokens.
        var s = TokenizerFixtures.Qwen.SpecialTokens;
        foreach (var id in imageBlock) Assert.Contains(id, new[] { s.ImStart, s.ImEnd, s.ImPatch, s.ImCol });
    }

    [Fact]
    public void TextOnlyInputIdsAreBosAndAUserTurn()
    {
        var tok = TokenizerFixtures.Qwen;
        var inputIds = ReadInt64Tensor(Path.Combine(TestPaths.Golden, "preprocessing", "text_only.safetensors"), "input_ids");
        var text = tok.Decode(inputIds[1..]);
        Assert.StartsWith(PromptBuilder.UserPrefix, text);
        Assert.EndsWith(PromptBuilder.AssistantSuffix, text);
        var userText = text[PromptBuilder.UserPrefix.Length..^PromptBuilder.AssistantSuffix.Length];
        Assert.Equal(inputIds, PromptBuilder.BuildInputIds(tok.BosId, ReadOnlySpan<int>.Empty, PromptBuilder.EncodePrompt(tok, userText)));
    }

    /// <summary>Reads one I64 tensor of a safetensors file as int32 ids.</summary>
    static int[] ReadInt64Tensor(string path, string name)
    {
        var bytes = File.ReadAllBytes(path);
        long headerLength = BitConverter.ToInt64(bytes, 0);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength));
        var t = header.RootElement.GetProperty(name);
        Assert.Equal("I64", t.GetProperty("dtype").GetString());
        var offsets = t.GetProperty("data_offsets");
        long begin = 8 + headerLength + offsets[0].GetInt64(), end = 8 + headerLength + offsets[1].GetInt64();
        var ids = new int[(end - begin) / 8];
        for (int i = 0; i < ids.Length; i++) ids[i] = checked((int)BitConverter.ToInt64(bytes, (int)begin + 8 * i));
        return ids;
    }
}
