using System.Text.Json;
using Molmo.Text;
using Molmo.TestSupport;

namespace Molmo.Tests.Imaging;

/// <summary>The cases of <c>golden/preprocessing/index.json</c> and the special ids it records.</summary>
public static class PreprocessingGolden
{
    public sealed record Case(string Name, int H, int W, int Rows, int Cols, int NumCrops, int SeqLen, long[] TextTokens);

    public static string Folder => Path.Combine(TestPaths.Golden, "preprocessing");

    static readonly Lazy<(SpecialTokenIds Ids, Case[] Cases)> Index = new(() =>
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "index.json")));
        var root = doc.RootElement;
        var sp = root.GetProperty("special_ids");
        var ids = new SpecialTokenIds(
            ImStart: sp.GetProperty("<im_start>").GetInt32(), ImEnd: sp.GetProperty("<im_end>").GetInt32(),
            ImPatch: sp.GetProperty("<im_patch>").GetInt32(), ImCol: sp.GetProperty("<im_col>").GetInt32(),
            Image: sp.GetProperty("<|image|>").GetInt32(), Bos: root.GetProperty("bos_id").GetInt32(), Eos: root.GetProperty("eos_id").GetInt32());
        var cases = root.GetProperty("cases").EnumerateArray().Select(c =>
        {
            var tiling = c.GetProperty("tiling").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            return new Case(c.GetProperty("name").GetString()!, c.GetProperty("h").GetInt32(), c.GetProperty("w").GetInt32(),
                tiling[0], tiling[1], c.GetProperty("n_crops_total").GetInt32(), c.GetProperty("seq_len").GetInt32(),
                c.GetProperty("text_tokens").EnumerateArray().Select(e => e.GetInt64()).ToArray());
        }).ToArray();
        return (ids, cases);
    });

    public static SpecialTokenIds Ids => Index.Value.Ids;
    public static IReadOnlyList<Case> Cases => Index.Value.Cases;
    public static Case Get(string name) => Cases.Single(c => c.Name == name);

    public static TheoryData<string> CaseNames()
    {
        var d = new TheoryData<string>();
        foreach (var c in Cases) d.Add(c.Name);
        return d;
    }
}
