using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Molmo.Checkpoints;

/// <summary>
/// Writes a model folder's weights quantised (int8 or int4, as <c>--dtype</c> quantises them while loading) into a new
/// folder that loads without quantising again: the quantised matrices and their scales as stored tensors (I8 or U8, and F32,
/// under the layers' own names), everything else in bf16, sharded as Hugging Face checkpoints are, beside the source's
/// tokenizer and other files and its <c>config.json</c> with a <c>molmo_quantization</c> entry. The folder only loads with
/// its own <c>--dtype</c> (<see cref="ModelLoader"/> says so otherwise). Or, for bf16, every tensor in bf16 under its
/// checkpoint name and <c>torch_dtype</c> "bfloat16": an ordinary checkpoint of half the size of the released float32 one,
/// which any <c>--dtype</c> loads (int8 and int4 then quantise the bf16 weights). Nothing is written at the destination
/// until the whole folder is complete: it is built beside it and renamed.
/// </summary>
public static class QuantizedCheckpoint
{
    /// <summary>Files of a model folder that are weights (not copied: the quantised ones replace them).</summary>
    static bool IsWeightFile(string name) =>
        name.EndsWith(".safetensors", StringComparison.Ordinal) || name == "model.safetensors.index.json"
        || name.EndsWith(".bin", StringComparison.Ordinal) || name.EndsWith(".pt", StringComparison.Ordinal) || name == "pytorch_model.bin.index.json";

    public static void Write(string modelDir, string outDir, string dtype, IProgress<LoadProgress>? loading = null,
                             IProgress<(int Shard, int Shards)>? writing = null, CancellationToken ct = default)
    {
        var placement = Runtime.TorchRuntime.ParsePlacement(dtype, CPU);
        bool quantised = placement.Int8Decoder || placement.Int4Decoder;
        if (!quantised && placement.DType != ScalarType.BFloat16)
            throw new ArgumentException($"molmo quantize writes int8, int4 or bf16 weights, not {dtype}");
        string name = Runtime.TorchRuntime.PlacementName(placement);
        var config = MolmoConfig.Load(modelDir);
        if (config.Quantization is { } q) throw new ArgumentException($"{modelDir} already holds {q}-quantised weights");
        if (!quantised)
            using (var source = Checkpoint.Open(modelDir))
                if (source.TensorNames.All(n => source.Entry(n).DType == "BF16"))
                    throw new ArgumentException($"{modelDir} already holds bf16 weights: load it with --dtype bf16 as it is");
        var target = Path.GetFullPath(outDir);
        if (File.Exists(target)) throw new IOException($"{outDir} is a file (refusing to replace it)");
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
            throw new IOException($"{outDir} exists and is not empty (refusing to write into it)");
        if (Path.GetFullPath(modelDir).TrimEnd('/') == target.TrimEnd('/')) throw new IOException("the output folder is the model folder");
        var parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        var building = Path.Combine(parent, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.partial");
        try
        {
            using (var model = ModelLoader.Load(modelDir, placement, loading, ct))
            {
                var byName = model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
                var layout = byName.Select(kv => (kv.Key, kv.Value.NumberOfElements * kv.Value.ElementSize)).ToList();
                ct.ThrowIfCancellationRequested();
                SafetensorsWriter.SaveSharded(building, layout, n => byName[n].detach(), progress: writing);
            }
            foreach (var file in Directory.EnumerateFiles(modelDir))
            {
                var fileName = Path.GetFileName(file);
                if (!IsWeightFile(fileName) && fileName != "config.json") File.Copy(file, Path.Combine(building, fileName));
            }
            var root = JsonNode.Parse(File.ReadAllText(Path.Combine(modelDir, "config.json")))!.AsObject();
            if (quantised)
                root["molmo_quantization"] = new JsonObject
                {
                    ["dtype"] = name,
                    ["scales"] = name == "int8" ? "float32, one per output row" : "float32, one per 64 columns of a row (fewer for rows narrower than 128)",
                    ["written_by"] = "molmo quantize",
                };
            else root["torch_dtype"] = "bfloat16";
            File.WriteAllText(Path.Combine(building, "config.json"), root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            if (Directory.Exists(target)) Directory.Delete(target);   // empty, checked above
            Directory.Move(building, target);
        }
        catch
        {
            try { if (Directory.Exists(building)) Directory.Delete(building, recursive: true); } catch { /* best effort */ }
            throw;
        }
    }
}
