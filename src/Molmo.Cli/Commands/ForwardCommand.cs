using System.CommandLine;
using Molmo.Checkpoints;
using Molmo.Generation;
using Molmo.Model;
using Molmo.Runtime;
using Molmo.Text;
using static TorchSharp.torch;

namespace Molmo.Cli.Commands;

/// <summary>
/// <c>molmo forward</c>: one full forward pass over inputs from a safetensors file, writing the logits (and optionally greedy
/// ids) to another — the interop command for diffing this engine against any other implementation.
/// </summary>
public static class ForwardCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "model directory (config.json + safetensors weights)", Required = true };
        var inputs = new Option<string>("--inputs") { Description = "safetensors with input_ids [S] and optionally images, image_masks, image_input_idx", Required = true };
        var output = new Option<string>("--out") { Description = "output safetensors: logits F32 [S, vocab rows] (+ greedy I64)", Required = true };
        var greedy = new Option<int>("--greedy") { Description = "also generate N tokens greedily with the KV cache (stops after EOS)", DefaultValueFactory = _ => 0 };
        var device = CommonOptions.Device();
        var dtype = CommonOptions.DType();
        var force = CommonOptions.Force();
        var threads = CommonOptions.Threads();
        var cmd = new Command("forward", "Run one forward pass on preprocessed inputs and write the logits") { model, inputs, output, greedy, device, dtype, threads, force };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            var outPath = pr.GetValue(output)!;
            CommonOptions.CheckWritable(outPath, pr.GetValue(force));
            int n = pr.GetValue(greedy);
            if (n < 0) throw new ArgumentException("--greedy must be ≥ 0");
            var placement = TorchRuntime.ParsePlacement(pr.GetValue(dtype)!, TorchRuntime.ParseDevice(pr.GetValue(device)!));
            using var cpuThreads = CommonOptions.ApplyThreads(pr.GetValue(threads));
            using var m = ProgressUi.WithLoadProgress("loading weights", p => ModelLoader.Load(pr.GetValue(model)!, placement, p));
            using var scope = NewDisposeScope();
            var modelInputs = InteropInputs.Read(pr.GetValue(inputs)!);
            using var _ = no_grad();
            var result = new List<KeyValuePair<string, Tensor>>();
            using (var fwd = m.Forward(modelInputs))
                result.Add(new("logits", fwd.Logits[0].to(ScalarType.Float32).cpu().MoveToOuterDisposeScope()));
            if (n > 0)
            {
                int eos = SpecialIds.ForModelDirectory(pr.GetValue(model)!, m.Config).Eos;
                var ids = new Molmo.Generation.Generator(m, eos).Generate(modelInputs, new GenerationOptions { MaxNewTokens = n }).Select(t => (long)t.Id).ToArray();
                result.Add(new("greedy", tensor(ids, ScalarType.Int64)));
            }
            SafetensorsWriter.Save(outPath, result);
            Console.Error.WriteLine($"wrote {outPath}: logits [{string.Join(", ", result[0].Value.shape)}]" + (n > 0 ? $", greedy [{result[1].Value.shape[0]}]" : ""));
            return 0;
        }));
        return cmd;
    }
}

/// <summary>Reads the interop input file of <c>molmo forward</c> / writes that of <c>molmo preprocess</c>.</summary>
public static class InteropInputs
{
    public static ModelInputs Read(string path)
    {
        using var f = SafetensorsFile.Open(path);
        if (!f.Contains("input_ids")) throw new InvalidDataException($"{path} has no 'input_ids' tensor");
        var ids = f.Read("input_ids");
        if (ids.dim() != 1) throw new InvalidDataException($"{path}: input_ids must be 1-D [S], got [{string.Join(", ", ids.shape)}]");
        ids = ids.to(ScalarType.Int64).unsqueeze(0);
        if (!f.Contains("images"))
        {
            if (f.Contains("image_input_idx"))
                throw new InvalidDataException($"{path} has image_input_idx but no images (write the full inputs with `molmo preprocess`)");
            return new ModelInputs(ids);
        }
        foreach (var need in new[] { "image_masks", "image_input_idx" })
            if (!f.Contains(need)) throw new InvalidDataException($"{path} has images but no {need}");
        var images = f.Read("images", ScalarType.Float32, CPU);
        var masks = f.Read("image_masks", ScalarType.Float32, CPU);
        var idx = f.Read("image_input_idx").to(ScalarType.Int64);
        if (images.dim() != 3 || masks.dim() != 2 || idx.dim() != 2 || images.shape[0] != masks.shape[0] || images.shape[0] != idx.shape[0])
            throw new InvalidDataException($"{path}: expected images [T, 576, 588], image_masks [T, 576], image_input_idx [T, 144]; got " +
                $"[{string.Join(", ", images.shape)}], [{string.Join(", ", masks.shape)}], [{string.Join(", ", idx.shape)}]");
        return new ModelInputs(ids, images.unsqueeze(0), masks.unsqueeze(0), idx.unsqueeze(0));
    }
}
