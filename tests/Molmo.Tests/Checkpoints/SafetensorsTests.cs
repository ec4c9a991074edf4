using System.Text;
using Molmo.Checkpoints;
using Molmo.Model;
using Molmo.TestSupport;
using Molmo.Tests.Model;
using static TorchSharp.torch;

namespace Molmo.Tests.Checkpoints;

public class SafetensorsTests
{
    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    static extern int truncate(string path, long length);

    static string WriteRaw(string dir, string name, string headerJson, int dataBytes, long? claimedLength = null)
    {
        var header = Encoding.UTF8.GetBytes(headerJson);
        var path = Path.Combine(dir, name);
        using var fs = File.Create(path);
        fs.Write(BitConverter.GetBytes((ulong)(claimedLength ?? header.Length)));
        fs.Write(header);
        fs.Write(new byte[dataBytes]);
        return path;
    }

    [Fact]
    public void RoundTripsF32Bf16F16AndInt64()
    {
        var dir = TestPaths.NewTempDir();
        using var scope = NewDisposeScope();
        var a = randn(3, 5);
        var b = randn(4, 2).to(ScalarType.BFloat16);
        var c = randn(7).to(ScalarType.Float16);
        var d = Scalars.Arange(0, 10, ScalarType.Int64);
        var path = Path.Combine(dir, "x.safetensors");
        SafetensorsWriter.Save(path, new Dictionary<string, Tensor> { ["a"] = a, ["ünï.b"] = b, ["c"] = c, ["d"] = d },
                               new Dictionary<string, string> { ["format"] = "pt" });
        using var f = SafetensorsFile.Open(path);
        Assert.Equal("pt", f.Metadata["format"]);
        Assert.True(f.Read("a").equal(a).all().item<bool>());
        Assert.True(f.Read("ünï.b").equal(b).all().item<bool>());
        Assert.True(f.Read("c").equal(c).all().item<bool>());
        Assert.True(f.Read("d").equal(d).all().item<bool>());
        Assert.Equal(0, (f.DataStart) % 8);
        // Reading with conversion.
        Assert.True(f.Read("ünï.b", ScalarType.Float32, CPU).equal(b.to(ScalarType.Float32)).all().item<bool>());
    }

    [Fact]
    public void TruncatedFileIsRejected()
    {
        var dir = TestPaths.NewTempDir();
        var path = WriteRaw(dir, "t.safetensors", """{"w":{"dtype":"F32","shape":[4,4],"data_offsets":[0,64]}}""", 32);
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path));
        Assert.Contains("'w'", e.Message);
        Assert.Contains("past the end", e.Message);
    }

    [Fact]
    public void AFileTruncatedAfterItWasOpenedGivesAClearErrorWhenRead()
    {
        var dir = TestPaths.NewTempDir();
        using var scope = NewDisposeScope();
        var path = Path.Combine(dir, "x.safetensors");
        SafetensorsWriter.Save(path, new Dictionary<string, Tensor> { ["a"] = randn(64, 64), ["b"] = randn(64, 64) }, null);
        using var f = SafetensorsFile.Open(path);
        Assert.Equal(64 * 64, f.Read("a").NumberOfElements);
        // Another program cuts the file short while it is open (.NET itself refuses to: the file is shared for reading only);
        // the header still promises "b".
        Assert.Equal(0, truncate(path, f["b"].Begin + 100));
        var e = Assert.Throws<InvalidDataException>(() => f.Read("b"));
        Assert.Contains("'b' ends early", e.Message);
        Assert.Contains("x.safetensors", e.Message);
    }

    [Fact]
    public void HeaderLengthPastTheEndIsRejected()
    {
        var dir = TestPaths.NewTempDir();
        var path = WriteRaw(dir, "h.safetensors", """{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", 4, claimedLength: 5000);
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path));
        Assert.Contains("header length 5000", e.Message);
    }

    [Fact]
    public void TinyFileIsRejected()
    {
        var dir = TestPaths.NewTempDir();
        var path = Path.Combine(dir, "z.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Contains("too short", Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path)).Message);
    }

    [Fact]
    public void OverlappingRangesAreRejected()
    {
        var dir = TestPaths.NewTempDir();
        var path = WriteRaw(dir, "o.safetensors",
            """{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}""", 24);
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path));
        Assert.Contains("overlapping", e.Message);
    }

    [Fact]
    public void ShapeAndByteRangeMustAgree()
    {
        var dir = TestPaths.NewTempDir();
        var path = WriteRaw(dir, "s.safetensors", """{"a":{"dtype":"BF16","shape":[4],"data_offsets":[0,16]}}""", 16);
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(path));
        Assert.Contains("needs 8 bytes", e.Message);
    }

    [Fact]
    public void UnknownDtypeAndBadJsonAreRejected()
    {
        var dir = TestPaths.NewTempDir();
        var p1 = WriteRaw(dir, "d.safetensors", """{"a":{"dtype":"Q4","shape":[4],"data_offsets":[0,4]}}""", 4);
        Assert.Contains("unknown dtype 'Q4'", Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(p1)).Message);
        var p2 = WriteRaw(dir, "j.safetensors", """{"a": nope}""", 0);
        Assert.Contains("not valid JSON", Assert.Throws<InvalidDataException>(() => SafetensorsFile.Open(p2)).Message);
    }

    static (MolmoForCausalLM Model, string Dir) TinyCopy(string variant, Action<Dictionary<string, Tensor>> edit)
    {
        var src = Golden.TinyDir(variant);
        var dir = TestPaths.NewTempDir();
        File.Copy(Path.Combine(src, "config.json"), Path.Combine(dir, "config.json"));
        using var f = SafetensorsFile.Open(Path.Combine(src, "model.safetensors"));
        var tensors = f.Names.ToDictionary(n => n, n => f.Read(n));
        edit(tensors);
        SafetensorsWriter.Save(Path.Combine(dir, "model.safetensors"), tensors);
        foreach (var t in tensors.Values) t.Dispose();
        return (new MolmoForCausalLM(MolmoConfig.Load(dir), ModelPlacement.CpuFloat32), dir);
    }

    [Fact]
    public void MissingUnexpectedAndMisShapedTensorsAreNamed()
    {
        var (model, dir) = TinyCopy("tiny_d_style", t =>
        {
            t.Remove("model.transformer.ln_f.weight");
            t["model.extra.weight"] = zeros(3);
            t["model.transformer.blocks.0.ff_norm.weight"] = zeros(65);
        });
        using var _ = model;
        using var ck = Checkpoint.Open(dir);
        var e = Assert.Throws<InvalidDataException>(() => CheckpointLoader.Load(model, ck));
        Assert.Contains("missing 1 tensor(s): model.transformer.ln_f.weight", e.Message);
        Assert.Contains("unexpected 1 tensor(s): model.extra.weight", e.Message);
        Assert.Contains("model.transformer.blocks.0.ff_norm.weight has shape [65], expected [64]", e.Message);
    }

    [Fact]
    public void QuantisedDtypeIsRejected()
    {
        var (model, dir) = TinyCopy("tiny_d_style", t => t["model.transformer.ln_f.weight"] = zeros([64], ScalarType.Int8));
        using var _ = model;
        using var ck = Checkpoint.Open(dir);
        var e = Assert.Throws<InvalidDataException>(() => CheckpointLoader.Load(model, ck));
        Assert.Contains("model.transformer.ln_f.weight is I8", e.Message);
    }

    [Fact]
    public void Bf16CheckpointLoadsIntoFp32AndBf16Models()
    {
        var (fp32Model, dir) = TinyCopy("tiny_o_style", t =>
        {
            foreach (var k in t.Keys.ToList()) t[k] = t[k].to(ScalarType.BFloat16);
        });
        using var _ = fp32Model;
        using var ck = Checkpoint.Open(dir);
        CheckpointLoader.Load(fp32Model, ck);
        using var bf16Model = new MolmoForCausalLM(MolmoConfig.Load(dir), new ModelPlacement(ScalarType.BFloat16, CPU));
        CheckpointLoader.Load(bf16Model, ck);
        var w32 = fp32Model.named_parameters().First(p => p.name == "model.transformer.ln_f.weight").parameter;
        var w16 = bf16Model.named_parameters().First(p => p.name == "model.transformer.ln_f.weight").parameter;
        Assert.Equal(ScalarType.BFloat16, w16.dtype);
        Assert.True(w32.equal(w16.to(ScalarType.Float32)).all().item<bool>());
    }

    [Fact]
    public void ShardedIndexWithMissingShardIsReported()
    {
        var src = Path.Combine(Golden.TinyDir("tiny_d_style"), "sharded");
        var dir = TestPaths.NewTempDir();
        foreach (var f in Directory.GetFiles(src)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        File.Delete(Path.Combine(dir, "model-00002-of-00002.safetensors"));
        var e = Assert.Throws<FileNotFoundException>(() => Checkpoint.Open(dir));
        Assert.Contains("model-00002-of-00002.safetensors", e.Message);
    }

    [Fact]
    public void ShardedAndSingleFileCheckpointsHoldTheSameTensors()
    {
        var dir = Golden.TinyDir("tiny_d_style");
        using var one = Checkpoint.Open(dir);
        using var two = Checkpoint.Open(Path.Combine(dir, "sharded"));
        Assert.Equal(2, two.Files.Count);
        Assert.Equal(one.TensorNames.Order(), two.TensorNames.Order());
        foreach (var n in one.TensorNames)
        {
            using var a = one.FileOf(n).Read(n);
            using var b = two.FileOf(n).Read(n);
            Assert.True(a.equal(b).all().item<bool>(), n);
        }
    }

    [Fact]
    public void WriterRefusesToOverwriteWhenAsked()
    {
        var dir = TestPaths.NewTempDir();
        var path = Path.Combine(dir, "keep.safetensors");
        File.WriteAllText(path, "precious");
        using var t = zeros(2);
        Assert.Throws<IOException>(() => SafetensorsWriter.Save(path, [new("t", t)], overwrite: false));
        Assert.Equal("precious", File.ReadAllText(path));
    }
}

public class MolmoConfigTests
{
    [Fact]
    public void TinyConfigReadsMolmoExt()
    {
        var cfg = MolmoConfig.Load(Golden.TinyDir("tiny_d_style"));
        Assert.Equal(9, cfg.Vision.NumLayers);
        Assert.Equal(32, cfg.Vision.EmbDim);
        Assert.NotNull(cfg.SpecialTokens);
    }

    [Fact]
    public void ReleasedConfigUsesHardCodedVisionDefaults()
    {
        var cfg = MolmoConfig.Load(Path.Combine(TestPaths.Models, "molmo-7b-d-0924"));
        Assert.Equal(23, cfg.Vision.NumLayers);
        Assert.Equal(1024, cfg.Vision.EmbDim);
        Assert.Null(cfg.SpecialTokens);
        Assert.Equal(128, cfg.HeadDim);
    }

    [Theory]
    [InlineData("""{"model_type":"llama"}""", "model_type is 'llama'")]
    [InlineData("""{"model_type":"molmo","hidden_size":64}""", "'num_attention_heads' is missing")]
    [InlineData("""{"model_type":"molmo","hidden_size":64,"num_attention_heads":5,"num_hidden_layers":1,"intermediate_size":8,"vocab_size":10}""", "not divisible")]
    [InlineData("""{"model_type":"molmo","hidden_size":"big","num_attention_heads":4,"num_hidden_layers":1,"intermediate_size":8,"vocab_size":10}""", "'hidden_size' must be a number")]
    [InlineData("""{"model_type":"molmo",""", "not valid JSON")]
    public void WrongConfigsFailWithTheFieldNamed(string json, string expected)
    {
        var dir = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "config.json"), json);
        var e = Assert.Throws<InvalidDataException>(() => MolmoConfig.Load(dir));
        Assert.Contains(expected, e.Message);
    }
}
