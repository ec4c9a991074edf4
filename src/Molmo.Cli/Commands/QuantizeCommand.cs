using System.CommandLine;
using System.Diagnostics;
using Molmo.Checkpoints;

namespace Molmo.Cli.Commands;

/// <summary>
/// <c>molmo quantize</c>: a model folder's weights quantised once (int4 or int8, as <c>--dtype</c> quantises them while
/// loading) into a new folder that loads without quantising again, or converted to bf16 (a checkpoint of half the size of
/// the released float32 one) (<see cref="QuantizedCheckpoint"/>).
/// </summary>
public static class QuantizeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "model folder to quantise (config.json + safetensors weights, as released)", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "int4 (a scale per 64 columns), int8 (a scale per row), or bf16 (every tensor in bf16: half a float32 checkpoint, loads with any --dtype)", DefaultValueFactory = _ => "int4" };
        var output = new Option<string>("--out") { Description = "the new model folder (must not exist, or be empty)", Required = true };
        var cmd = new Command("quantize", "Write a model's decoder matrices quantised (int4 or int8) into a new folder that loads without quantising again, or the whole model in bf16") { model, dtype, output };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            var sw = Stopwatch.StartNew();
            string outDir = pr.GetValue(output)!;
            // The canonical name (bf16 for bfloat16, …); an unknown one fails here with the names it takes.
            string name = Molmo.Runtime.TorchRuntime.PlacementName(Molmo.Runtime.TorchRuntime.ParsePlacement(pr.GetValue(dtype)!, TorchSharp.torch.CPU));
            ProgressUi.WithLoadProgress(name == "bf16" ? "loading in bf16" : $"loading and quantising ({name})", p =>
            {
                // Under a live progress bar (an interactive terminal) the shards go unannounced: lines of their own would tear it.
                QuantizedCheckpoint.Write(pr.GetValue(model)!, outDir, name, p, !Console.IsErrorRedirected ? null
                    : new SyncProgress<(int Shard, int Shards)>(s => Console.Error.WriteLine($"wrote shard {s.Shard} of {s.Shards}")));
                return 0;
            });
            long bytes = Directory.EnumerateFiles(outDir, "*.safetensors").Sum(f => new FileInfo(f).Length);
            Console.Error.WriteLine($"wrote {outDir}: {bytes / 1e9:F2} GB of {name} weights in {sw.Elapsed.TotalSeconds:F1} s; load it with --dtype {name}" +
                                    (name == "bf16" ? " (or int8 / int4, quantised from these bf16 weights while loading)" : ""));
            return 0;
        }));
        return cmd;
    }
}
