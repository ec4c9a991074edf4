using System.CommandLine;
using System.Globalization;
using Molmo.Generation;
using Molmo.Imaging;
using Molmo.Points;
using Molmo.Runtime;

namespace Molmo.Cli.Commands;

/// <summary><c>molmo ask</c>: stream an answer about an image; print its points in pixels and optionally draw them.</summary>
public static class AskCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "model directory (config.json, tokenizer, safetensors weights)", Required = true };
        var image = new Option<string?>("--image") { Description = "image file; omit for a text-only question" };
        var prompt = new Argument<string>("prompt") { Description = "what to ask, e.g. \"Point to the dogs\"" };
        var style = new Option<string?>("--style") { Description = "style tag (vqa2, point_count, …; spec §4.4)" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "most new tokens", DefaultValueFactory = _ => 200 };
        var temperature = new Option<double>("--temperature") { Description = "0 = greedy", DefaultValueFactory = _ => 0.0 };
        var topK = new Option<int>("--top-k") { Description = "sample only from the k most likely tokens (0 = off)", DefaultValueFactory = _ => 0 };
        var topP = new Option<double>("--top-p") { Description = "nucleus sampling mass", DefaultValueFactory = _ => 1.0 };
        var seed = new Option<long>("--seed") { Description = "random seed for sampling", DefaultValueFactory = _ => 0 };
        var stop = new Option<string[]>("--stop") { Description = "stop string (repeatable)", AllowMultipleArgumentsPerToken = false };
        var overlay = new Option<string?>("--overlay") { Description = "draw the answer's points on the image into this PNG" };
        var exif = new Option<bool>("--exif-rotate") { Description = "apply the EXIF orientation (the reference does not)" };
        var stats = new Option<bool>("--stats") { Description = "print timings (prefill, tokens/s) to stderr" };
        var device = CommonOptions.Device();
        var dtype = CommonOptions.DType();
        var force = CommonOptions.Force();
        var cmd = new Command("ask", "Ask a Molmo model about an image; streams the answer")
            { model, image, prompt, style, maxTokens, temperature, topK, topP, seed, stop, overlay, exif, stats, device, dtype, force };
        cmd.SetAction((pr, ct) => CommandRunner.RunAsync(async () =>
        {
            var overlayPath = pr.GetValue(overlay);
            if (overlayPath != null)
            {
                if (pr.GetValue(image) is null) throw new ArgumentException("--overlay needs --image");
                CommonOptions.CheckWritable(overlayPath, pr.GetValue(force));
            }
            var gen = new GenerationOptions
            {
                MaxNewTokens = pr.GetValue(maxTokens),
                Temperature = pr.GetValue(temperature),
                TopK = pr.GetValue(topK),
                TopP = pr.GetValue(topP),
                Seed = pr.GetValue(seed),
                StopStrings = pr.GetValue(stop) ?? [],
            };
            gen.Validate();
            // Decode the image before the (slow) model load, so a bad file fails at once.
            var img = pr.GetValue(image) is { } path ? ImageDecoder.Decode(path, pr.GetValue(exif)) : null;
            var placement = TorchRuntime.ParsePlacement(pr.GetValue(dtype)!, TorchRuntime.ParseDevice(pr.GetValue(device)!));
            var options = new PipelineOptions { Device = placement.Device, DType = placement.DType, Int8 = placement.Int8Decoder };
            using var pipeline = ProgressUi.WithLoadProgress("loading weights", p => MolmoPipeline.Load(pr.GetValue(model)!, options, p, ct));
            var request = new AskRequest { Image = img, Prompt = pr.GetValue(prompt)!, Style = pr.GetValue(style), Generation = gen };
            var st = new AskStats();
            var text = new System.Text.StringBuilder();
            await foreach (var chunk in pipeline.AskStreamingAsync(request, st, ct))
            {
                Console.Write(chunk);
                text.Append(chunk);
            }
            Console.WriteLine();
            var answer = text.ToString();
            var points = PointParser.Parse(answer);
            if (points.Count > 0 && img != null)
            {
                Console.WriteLine($"points ({points.Count}, pixels of the {img.Width}×{img.Height} image):");
                foreach (var p in points)
                {
                    var (x, y) = p.ToPixels(img.Width, img.Height);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {p.Index + 1,3}: x={x:F1} y={y:F1}{(p.Alt is null ? "" : $"  ({p.Alt})")}"));
                }
            }
            if (PointParser.ExtractCount(answer) is { } count && points.Count > 0) Console.WriteLine($"count: {count}");
            if (overlayPath != null && img != null)
            {
                File.WriteAllBytes(overlayPath, PointOverlay.RenderPng(img.Width, img.Height, img.Pixels, points));
                Console.Error.WriteLine($"overlay with {points.Count} point(s) written to {overlayPath}");
            }
            if (pr.GetValue(stats))
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"prompt {st.PromptTokens} tokens ({st.Crops} crops), preprocess {st.Preprocess.TotalMilliseconds:F0} ms, prefill {st.Prefill.TotalSeconds:F2} s, " +
                    $"{st.GeneratedTokens} tokens at {st.DecodeTokensPerSecond:F2} tok/s, finished: {st.FinishReason}"));
            return 0;
        }));
        return cmd;
    }
}
