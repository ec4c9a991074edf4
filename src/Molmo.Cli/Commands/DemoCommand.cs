using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Molmo.Generation;
using Molmo.Imaging;
using Molmo.Points;
using Molmo.Runtime;
using Spectre.Console;

namespace Molmo.Cli.Commands;

/// <summary>
/// <c>molmo demo</c>: runs the whole pipeline on a fresh machine with no download — a small model with RANDOM weights and
/// the real Molmo tokenizer, a drawn test image — and prints what each stage produced and how long it took.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var prompt = new Option<string>("--prompt") { Description = "the question to ask", DefaultValueFactory = _ => "Point to the red circle." };
        var tokens = new Option<int>("--max-tokens") { Description = "tokens to generate", DefaultValueFactory = _ => 24 };
        var keep = new Option<string?>("--save-model") { Description = "keep the generated demo model directory here (default: a temporary folder, removed)" };
        var outDir = new Option<string?>("--out") { Description = "write the test image and the answer's overlay into this folder" };
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var cmd = new Command("demo", "Run the full pipeline on a small random-weight model (no download needed)") { prompt, tokens, keep, outDir, device, threads };
        cmd.SetAction((pr, ct) => CommandRunner.RunAsync(async () =>
        {
            var con = AnsiConsole.Console;
            con.MarkupLine("[bold yellow]molmo demo[/] — the model below has [bold red]RANDOM WEIGHTS[/]: its answer is meaningless text.");
            con.MarkupLine("It exists to show every stage running on this machine. Use [bold]molmo ask --model DIR[/] with a real checkpoint for real answers.\n");
            var total = Stopwatch.StartNew();
            var sw = Stopwatch.StartNew();
            var saveDir = pr.GetValue(keep);
            var dir = saveDir ?? Path.Combine(Path.GetTempPath(), $"molmo-demo-{Environment.ProcessId}-{Guid.NewGuid():N}");
            if (saveDir != null && Directory.Exists(saveDir) && Directory.EnumerateFileSystemEntries(saveDir).Any())
                throw new IOException($"{saveDir} is not empty; choose an empty or new folder for --save-model");
            try
            {
                DemoModel.Create(dir);
                Stage("1. build model", $"random-weight Molmo written to {(saveDir ?? "a temporary folder")} (config.json, Qwen2 tokenizer, model.safetensors)", sw);

                var png = DemoModel.DrawTestImage(640, 480);
                var image = ImageDecoder.Decode(png, sourceName: "demo.png");
                Stage("2. decode image", $"drawn 640×480 scene (red circle at x=30%, y=40%), PNG {png.Length / 1024} KB → RGB {image.Width}×{image.Height}", sw);

                var dev = TorchRuntime.ParseDevice(pr.GetValue(device)!);
                using var cpuThreads = CommonOptions.ApplyThreads(pr.GetValue(threads));
                using var pipeline = MolmoPipeline.Load(dir, new PipelineOptions { Device = dev });
                var cfg = pipeline.Config;
                Stage("3. load model", $"{pipeline.Model.ParameterCount:N0} parameters, {cfg.DecoderStyle}, ViT {cfg.Vision.NumLayers} layers; tokenizer {pipeline.Tokenizer.VocabSize} ids" +
                    (pipeline.Model.Placement.Device.type == TorchSharp.DeviceType.CPU ? $"; {CommonOptions.CpuRoutesText()}" : ""), sw);

                var request = new AskRequest { Image = image, Prompt = pr.GetValue(prompt)!, Generation = new GenerationOptions { MaxNewTokens = pr.GetValue(tokens) } };
                var processed = pipeline.Prepare(request);
                var pi = processed.Image!;
                int patches = processed.InputIds.Count(id => id == pipeline.Processor.SpecialTokens.ImPatch);
                Stage("4. preprocess", $"tiling {pi.Rows}×{pi.Cols} → {pi.NumCrops} crops of 576 patches × 588 values; {processed.InputIds.Length} tokens " +
                                       $"(BOS + {pi.ImageTokens.Length} image tokens with {patches} <im_patch> + {processed.TextTokenCount} text tokens)", sw);
                var text = pipeline.Tokenizer.Decode(processed.InputIds.Skip(1 + pi.ImageTokens.Length).Select(x => (int)x), skipSpecialTokens: false);
                con.MarkupLine($"   prompt text: [grey]{Markup.Escape(text)}[/]");

                sw.Restart();
                con.Markup("5. generate    ");
                var stats = new AskStats();
                var answer = new System.Text.StringBuilder();
                await foreach (var chunk in pipeline.AskStreamingAsync(request, stats, ct))
                {
                    con.Write(chunk);
                    answer.Append(chunk);
                }
                con.WriteLine();
                sw.Restart();
                con.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                    $"   prefill {stats.Prefill.TotalMilliseconds:F0} ms for {stats.PromptTokens} tokens; {stats.GeneratedTokens} tokens at {stats.DecodeTokensPerSecond:F1} tok/s; finished: {stats.FinishReason}"));
                var points = PointParser.Parse(answer.ToString());
                Stage("6. parse points", points.Count == 0
                    ? "no <point> tags in this answer (expected from random weights)"
                    : string.Join("; ", points.Select(p => { var (x, y) = p.ToPixels(image.Width, image.Height); return $"({x:F0}, {y:F0}) px"; })), sw);
                if (pr.GetValue(outDir) is { } od)
                {
                    Directory.CreateDirectory(od);
                    File.WriteAllBytes(Path.Combine(od, "demo-image.png"), png);
                    File.WriteAllBytes(Path.Combine(od, "demo-overlay.png"), PointOverlay.RenderPng(image.Width, image.Height, image.Pixels, points));
                    con.MarkupLine($"   wrote demo-image.png and demo-overlay.png to {Markup.Escape(od)}");
                }
                con.MarkupLine($"\n[green]done[/] in {total.Elapsed.TotalSeconds:F1} s. Weights were random: the text above carries no meaning.");
                return 0;
            }
            finally
            {
                if (saveDir == null && Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            }
        }));
        return cmd;
    }

    static void Stage(string name, string what, Stopwatch sw)
    {
        AnsiConsole.MarkupLine($"{Markup.Escape(name),-15} [grey]{sw.Elapsed.TotalMilliseconds,7:F0} ms[/]  {Markup.Escape(what)}");
        sw.Restart();
    }
}
