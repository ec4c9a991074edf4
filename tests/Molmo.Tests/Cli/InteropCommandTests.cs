using System.Text.Json;
using Molmo.Checkpoints;
using Molmo.TestSupport;
using Molmo.Tests.Model;
using Molmo.Text;
using static TorchSharp.torch;

namespace Molmo.Tests.Cli;

/// <summary>`molmo preprocess` and `molmo forward` reproduce the reference files when run as a user would.</summary>
[Collection("cli")]
public class InteropCommandTests
{
    static string Model7BD => Path.Combine(TestPaths.Models, "molmo-7b-d-0924");
    static string Pre => Path.Combine(TestPaths.Golden, "preprocessing");

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Golden, "preprocessing", "index.json")));
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray()) data.Add(c.GetProperty("name").GetString()!);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void PreprocessReproducesTheReferenceTensors(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Pre, "index.json")));
        var prompt = doc.RootElement.GetProperty("cases").EnumerateArray().First(c => c.GetProperty("name").GetString() == name).GetProperty("prompt").GetString()!;
        var outPath = Path.Combine(TestPaths.NewTempDir(), "inputs.safetensors");
        var (code, _, err) = CliHarness.Run("preprocess", "--model", Model7BD, "--image", Path.Combine(Pre, name + ".png"), "--prompt", prompt, "--out", outPath);
        Assert.True(code == 0, err);
        var golden = Path.Combine(Pre, name + ".safetensors");
        using var scope = NewDisposeScope();
        using var ours = SafetensorsFile.Open(outPath);
        Assert.Equal(Golden.Read(golden, "input_ids").data<long>().ToArray(), ours.Read("input_ids").data<long>().ToArray());
        Assert.Equal(Golden.Read(golden, "image_input_idx").data<long>().ToArray(), ours.Read("image_input_idx").data<long>().ToArray());
        Golden.AssertClose(Golden.Read(golden, "image_masks"), ours.Read("image_masks"), 0, 0, "image_masks");
        var images = ours.Read("images");
        if (Golden.Has(golden, "images")) Golden.AssertClose(Golden.Read(golden, "images"), images, 5e-6, 0, "images");
        else Golden.AssertClose(Golden.Read(golden, "images_every8th_patch"), images.index_select(1, Scalars.Arange(0, 576, ScalarType.Int64, step: 8)), 5e-6, 0, "images[:, ::8]");
    }

    [Fact]
    public void PreprocessTextOnlyReproducesTheReferenceIds()
    {
        var golden = Golden.Read(Path.Combine(Pre, "text_only.safetensors"), "input_ids").data<long>().ToArray();
        var tok = MolmoTokenizer.FromDirectory(Model7BD);
        // The prompt is whatever the reference wrapped in " User: … Assistant:".
        var text = tok.Decode(golden.Skip(1).Select(x => (int)x), skipSpecialTokens: false);
        Assert.StartsWith(PromptBuilder.UserPrefix, text);
        Assert.EndsWith(PromptBuilder.AssistantSuffix, text);
        var prompt = text[PromptBuilder.UserPrefix.Length..^PromptBuilder.AssistantSuffix.Length];
        var outPath = Path.Combine(TestPaths.NewTempDir(), "inputs.safetensors");
        var (code, _, err) = CliHarness.Run("preprocess", "--model", Model7BD, "--prompt", prompt, "--out", outPath);
        Assert.True(code == 0, err);
        using var ours = SafetensorsFile.Open(outPath);
        Assert.Equal(golden, ours.Read("input_ids").data<long>().ToArray());
        Assert.False(ours.Contains("images"));
    }

    [Theory]
    [InlineData("tiny_d_style", "img_480x640")]
    [InlineData("tiny_o_style", "img_100x100")]
    [InlineData("tiny_o_style", "text_only")]
    public void ForwardReproducesReferenceLogitsAndGreedyIds(string variant, string @case)
    {
        var dir = Golden.TinyDir(variant);
        var tmp = TestPaths.NewTempDir();
        var inputsPath = Path.Combine(tmp, "in.safetensors");
        using (var scope = NewDisposeScope())
        {
            var inputs = TinyInputs.Load(variant, @case);
            var list = new List<KeyValuePair<string, Tensor>> { new("input_ids", inputs.InputIds[0]) };
            if (inputs.Images is not null)
            {
                list.Add(new("images", inputs.Images[0]));
                list.Add(new("image_masks", inputs.ImageMasks![0]));
                list.Add(new("image_input_idx", inputs.ImageInputIdx![0]));
            }
            SafetensorsWriter.Save(inputsPath, list);
        }
        var outPath = Path.Combine(tmp, "out.safetensors");
        var expectedIds = Golden.GreedyIds(Path.Combine(dir, $"{@case}.greedy.json"));
        var (code, _, err) = CliHarness.Run("forward", "--model", dir, "--inputs", inputsPath, "--greedy", expectedIds.Length.ToString(), "--out", outPath);
        Assert.True(code == 0, err);
        using var ours = SafetensorsFile.Open(outPath);
        Golden.AssertClose(Golden.Read(Path.Combine(dir, $"{@case}.golden.safetensors"), "logits"), ours.Read("logits"), 1e-4, 0, "logits");
        Assert.Equal(expectedIds, ours.Read("greedy").data<long>().ToArray());
    }

    [Fact]
    public void ForwardRejectsImageIndicesWithoutImages()
    {
        var dir = Golden.TinyDir("tiny_d_style");
        var (code, _, err) = CliHarness.Run("forward", "--model", dir, "--inputs", Path.Combine(dir, "img_100x100.inputs.safetensors"),
                                             "--out", Path.Combine(TestPaths.NewTempDir(), "o.safetensors"));
        Assert.Equal(1, code);
        Assert.Contains("image_input_idx but no images", err);
    }

    [Fact]
    public void OutputsAreNeverOverwrittenWithoutForce()
    {
        var tmp = TestPaths.NewTempDir();
        var outPath = Path.Combine(tmp, "exists.safetensors");
        File.WriteAllText(outPath, "keep me");
        var (code, _, err) = CliHarness.Run("preprocess", "--model", Model7BD, "--prompt", "hi", "--out", outPath);
        Assert.Equal(1, code);
        Assert.Contains("--force", err);
        Assert.Equal("keep me", File.ReadAllText(outPath));
    }
}
