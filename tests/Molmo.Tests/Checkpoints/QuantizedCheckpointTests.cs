using Molmo.TestSupport;
using System.Text.Json.Nodes;
using Molmo.Checkpoints;
using Molmo.Model;
using Molmo.Tests.Model;
using static TorchSharp.torch;

namespace Molmo.Tests.Checkpoints;

/// <summary>
/// <c>molmo quantize</c> (<see cref="QuantizedCheckpoint"/>): a folder of quantised weights loads into the same model as
/// quantising the float checkpoint while loading, only with its own dtype, and a failed or refused write leaves nothing.
/// </summary>
public class QuantizedCheckpointTests
{
    [Theory]
    [InlineData("tiny_d_style", "int4")]
    [InlineData("tiny_o_style", "int8")]
    public void AQuantisedFolderLoadsTheModelThatQuantisingWhileLoadingGives(string variant, string dtype)
    {
        var source = Golden.TinyDir(variant);
        var outDir = Path.Combine(TestPaths.NewTempDir(), "quantised");
        QuantizedCheckpoint.Write(source, outDir, dtype);

        AssertSameModel(outDir, source, variant, dtype);

        // What the folder holds: the quantised matrices as I8 / U8 with F32 scales, the rest bf16, and the marker.
        using (var ck = Checkpoint.Open(outDir))
        {
            var att = ck.TensorNames.First(n => n.EndsWith("att_proj.weight", StringComparison.Ordinal));
            Assert.Equal(dtype == "int4" ? "U8" : "I8", ck.Entry(att).DType);
            Assert.Equal("F32", ck.Entry(att + "_scale").DType);
            Assert.Equal("BF16", ck.Entry(ck.TensorNames.First(n => n.EndsWith("wte.embedding", StringComparison.Ordinal))).DType);
        }
        Assert.Equal(dtype, MolmoConfig.Load(outDir).Quantization);
    }

    [Theory]
    [InlineData("tiny_d_style")]
    [InlineData("tiny_o_style")]
    public void ABf16FolderIsTheCheckpointInBf16AndLoadsWithAnyDtype(string variant)
    {
        var source = Golden.TinyDir(variant);
        var outDir = Path.Combine(TestPaths.NewTempDir(), "bf16");
        QuantizedCheckpoint.Write(source, outDir, "bfloat16");

        // Every tensor bf16 under its checkpoint name: the source's names, no scales, no quantisation marker.
        using (var ck = Checkpoint.Open(outDir))
        using (var src = Checkpoint.Open(source))
        {
            Assert.All(ck.TensorNames, n => Assert.Equal("BF16", ck.Entry(n).DType));
            Assert.Equal(src.TensorNames.Order(), ck.TensorNames.Order());
            Assert.True(ck.TotalBytes * 2 <= src.TotalBytes + 1024 * ck.Files.Count, $"{ck.TotalBytes} bytes against the float32 {src.TotalBytes}");
        }
        var config = MolmoConfig.Load(outDir);
        Assert.Null(config.Quantization);
        Assert.Equal("bfloat16", config.TorchDtype);
        // The source's other files come along (here the golden cases' PNGs and JSON; in a release, the tokenizer's).
        foreach (var file in Directory.EnumerateFiles(source).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal)))
            Assert.True(File.Exists(Path.Combine(outDir, Path.GetFileName(file))), Path.GetFileName(file));

        // In bf16 it is the model that converting the float32 checkpoint while loading gives, bit for bit.
        AssertSameModel(outDir, source, variant, "bf16");
        // Any other dtype loads it too (an ordinary checkpoint), int4 quantising the bf16 weights.
        foreach (var other in new[] { "fp32", "int4" })
        {
            using var m = ModelLoader.Load(outDir, Molmo.Runtime.TorchRuntime.ParsePlacement(other, CPU));
            Assert.Equal(other, Molmo.Runtime.TorchRuntime.PlacementName(m.Placement));
        }
        // A bf16 folder is not converted again.
        Assert.Contains("already holds bf16", Assert.Throws<ArgumentException>(() =>
            QuantizedCheckpoint.Write(outDir, Path.Combine(TestPaths.NewTempDir(), "again"), "bf16")).Message);
    }

    /// <summary>The folder and the source checkpoint load, as <paramref name="dtype"/>, into the same parameters (names,
    /// dtypes, bits) and give the same logits.</summary>
    static void AssertSameModel(string folder, string source, string variant, string dtype)
    {
        var placement = Molmo.Runtime.TorchRuntime.ParsePlacement(dtype, CPU);
        using var fromFolder = ModelLoader.Load(folder, placement);
        using var whileLoading = ModelLoader.Load(source, placement);
        var expected = whileLoading.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in fromFolder.named_parameters())
        {
            Assert.Equal(expected[name].dtype, p.dtype);
            Assert.True(p.equal(expected[name]).all().item<bool>(), name);
        }
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var inputs = TinyInputs.Load(variant, "img_100x100");
        using var a = fromFolder.Forward(inputs);
        using var b = whileLoading.Forward(inputs);
        Assert.True(a.Logits.equal(b.Logits).all().item<bool>());
    }

    [Fact]
    public void AQuantisedFolderLoadsOnlyWithItsOwnDtype()
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "q");
        QuantizedCheckpoint.Write(Golden.TinyDir("tiny_d_style"), outDir, "int4");
        foreach (var other in new[] { "bf16", "fp32", "int8" })
        {
            var e = Assert.Throws<InvalidDataException>(() => ModelLoader.Load(outDir, Molmo.Runtime.TorchRuntime.ParsePlacement(other, CPU)));
            Assert.Contains("--dtype int4", e.Message);
            Assert.Contains(other, e.Message);
        }
        // And it is not quantised a second time.
        Assert.Contains("already holds int4", Assert.Throws<ArgumentException>(() =>
            QuantizedCheckpoint.Write(outDir, Path.Combine(TestPaths.NewTempDir(), "again"), "int4")).Message);
    }

    [Fact]
    public void ARefusedOrFailedWriteLeavesNothing()
    {
        var root = TestPaths.NewTempDir();
        // A folder that already holds something is not written into, and what it holds is untouched.
        var taken = Path.Combine(root, "taken");
        Directory.CreateDirectory(taken);
        File.WriteAllText(Path.Combine(taken, "mine.txt"), "keep");
        Assert.Contains("not empty", Assert.Throws<IOException>(() => QuantizedCheckpoint.Write(Golden.TinyDir("tiny_d_style"), taken, "int4")).Message);
        Assert.Equal("keep", File.ReadAllText(Path.Combine(taken, "mine.txt")));
        Assert.Single(Directory.EnumerateFileSystemEntries(taken));
        // A source whose weights are missing fails while loading: no output folder, no partial one beside it.
        var broken = Path.Combine(root, "broken");
        Directory.CreateDirectory(broken);
        File.Copy(Path.Combine(Golden.TinyDir("tiny_d_style"), "config.json"), Path.Combine(broken, "config.json"));
        var target = Path.Combine(root, "out");
        Assert.ThrowsAny<Exception>(() => QuantizedCheckpoint.Write(broken, target, "int4"));
        Assert.False(Directory.Exists(target));
        Assert.DoesNotContain(Directory.EnumerateDirectories(root), d => Path.GetFileName(d).Contains("partial", StringComparison.Ordinal));
        // Only the weight-only quantised dtypes and bf16 are written: float32 is what a release already is.
        Assert.Contains("int8, int4 or bf16", Assert.Throws<ArgumentException>(() => QuantizedCheckpoint.Write(Golden.TinyDir("tiny_d_style"), target, "fp32")).Message);
        Assert.False(Directory.Exists(target));
    }

    [Fact]
    public void AnUnknownQuantisationOrAStoredMatrixOfTheWrongDtypeIsNamed()
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "q");
        QuantizedCheckpoint.Write(Golden.TinyDir("tiny_d_style"), outDir, "int8");
        var configPath = Path.Combine(outDir, "config.json");
        var original = File.ReadAllText(configPath);
        var root = JsonNode.Parse(original)!.AsObject();
        root["molmo_quantization"]!["dtype"] = "int3";
        File.WriteAllText(configPath, root.ToJsonString());
        Assert.Contains("'int3'", Assert.Throws<InvalidDataException>(() => MolmoConfig.Load(outDir)).Message);
        // int8 matrices stored where the config says int4: the loader names the tensor and the dtype it expected.
        root["molmo_quantization"]!["dtype"] = "int4";
        File.WriteAllText(configPath, root.ToJsonString());
        var e = Assert.Throws<InvalidDataException>(() => ModelLoader.Load(outDir, Molmo.Runtime.TorchRuntime.ParsePlacement("int4", CPU)));
        Assert.Contains("att_proj.weight", e.Message);
    }
}
