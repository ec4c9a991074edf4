using System.CommandLine;
using System.Globalization;
using Molmo.Generation;
using Molmo.Imaging;
using Molmo.Points;
using Molmo.Runtime;

namespace Molmo.Cli.Commands;

/// <summary>
/// <c>molmo ask</c>: stream an answer about an image; print its points in pixels and optionally draw them. With several
/// <c>--image</c>s, the same question is asked about each, decoded together (batched decoding), and the answers are printed
/// in the order of the images, each under a header naming its file. With several prompts, they are all asked about the one
/// image (or none) and decoded together, each answer under a header quoting its prompt; the later ones continue from the
/// image's prompt positions that the first one computed (the pipeline's prefix cache), so they skip the vision encoder and
/// most of the prefill.
/// </summary>
public static class AskCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "model directory (config.json, tokenizer, safetensors weights)", Required = true };
        var image = new Option<string[]>("--image")
        {
            Description = "image file (repeatable: the same question about each, decoded together); omit for a text-only question",
            AllowMultipleArgumentsPerToken = false,
        };
        var batch = CommonOptions.Batch("with several images or prompts: how many are decoded together", 8);
        var prompt = new Argument<string[]>("prompt")
        {
            Description = "what to ask, e.g. \"Point to the dogs\"; several questions about one image are decoded together, the later ones reusing the image's prefill",
            Arity = ArgumentArity.OneOrMore,
        };
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
        var steps = new Option<string>("--steps")
        {
            Description = "how greedy decode steps are issued: auto (CUDA graphs on a GPU, built once with the machine's C++ compiler; eager elsewhere), graph, or eager (each op issued from C#)",
            DefaultValueFactory = _ => "auto",
        };
        steps.AcceptOnlyFromAmong("auto", "graph", "eager");
        var device = CommonOptions.Device();
        var dtype = CommonOptions.DType();
        var force = CommonOptions.Force();
        var threads = CommonOptions.Threads();
        var cmd = new Command("ask", "Ask a Molmo model about an image; streams the answer")
            { model, image, prompt, style, maxTokens, temperature, topK, topP, seed, stop, overlay, exif, stats, batch, device, dtype, steps, threads, force };
        cmd.SetAction((pr, ct) => CommandRunner.RunAsync(async () =>
        {
            var overlayPath = pr.GetValue(overlay);
            var imagePaths = pr.GetValue(image) ?? [];
            var prompts = pr.GetValue(prompt)!;
            if (prompts.Length > 1 && imagePaths.Length > 1)
                throw new ArgumentException("several prompts are asked about one image: give at most one --image with them");
            if (overlayPath != null)
            {
                if (imagePaths.Length != 1) throw new ArgumentException("--overlay needs exactly one --image");
                if (prompts.Length != 1) throw new ArgumentException("--overlay draws one answer's points: give one prompt with it");
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
            // Decode the images before the (slow) model load, so a bad file fails at once.
            var images = imagePaths.Select(path => ImageDecoder.Decode(path, pr.GetValue(exif))).ToList();
            var img = images.FirstOrDefault();
            var placement = TorchRuntime.ParsePlacement(pr.GetValue(dtype)!, TorchRuntime.ParseDevice(pr.GetValue(device)!));
            using var cpuThreads = CommonOptions.ApplyThreads(pr.GetValue(threads));
            var options = new PipelineOptions
            {
                Device = placement.Device, DType = placement.DType, Int8 = placement.Int8Decoder, Int4 = placement.Int4Decoder,
                DecodeSteps = pr.GetValue(steps) switch { "graph" => DecodeSteps.CudaGraph, "eager" => DecodeSteps.Eager, _ => DecodeSteps.Auto },
                // Only later prompts of this run could continue from a stored one.
                PrefixCacheBytes = prompts.Length > 1 ? PrefixCache.DefaultMaxBytes : 0,
            };
            using var pipeline = ProgressUi.WithLoadProgress("loading weights", p => MolmoPipeline.Load(pr.GetValue(model)!, options, p, ct));
            var request = new AskRequest { Image = img, Prompt = prompts[0], Style = pr.GetValue(style), Generation = gen };
            if (images.Count > 1 || prompts.Length > 1)
            {
                // The question about each image, or each question about the one image, decoded together (later questions
                // continue from the image's prompt positions that the first computed: the prefix cache); the answers printed
                // in order, each under its file or question, as they complete.
                var asks = images.Count > 1
                    ? images.Select((i, k) => (Header: imagePaths[k], Request: request with { Image = i })).ToList()
                    : prompts.Select(q => (Header: q, Request: request with { Prompt = q })).ToList();
                var answers = new MolmoAnswer?[asks.Count];
                int printed = 0;
                var gate = new object();
                await pipeline.AskBatchAsync(asks.Select(a => a.Request).ToList(), pr.GetValue(batch), (i, a) =>
                {
                    lock (gate)
                    {
                        answers[i] = a;
                        for (; printed < answers.Length && answers[printed] is { } done; printed++)
                        {
                            Console.WriteLine($"== {asks[printed].Header}");
                            Console.WriteLine(done.Text);
                            PrintPoints(done.Text, asks[printed].Request.Image);
                            if (pr.GetValue(stats)) PrintStats(done.Stats, placement.Device.type);
                        }
                    }
                }, ct);
                return 0;
            }
            var st = new AskStats();
            var text = new System.Text.StringBuilder();
            await foreach (var chunk in pipeline.AskStreamingAsync(request, st, ct))
            {
                Console.Write(chunk);
                text.Append(chunk);
            }
            Console.WriteLine();
            var answer = text.ToString();
            var points = PrintPoints(answer, img);
            if (overlayPath != null && img != null)
            {
                File.WriteAllBytes(overlayPath, PointOverlay.RenderPng(img.Width, img.Height, img.Pixels, points));
                Console.Error.WriteLine($"overlay with {points.Count} point(s) written to {overlayPath}");
            }
            if (pr.GetValue(stats)) PrintStats(st, placement.Device.type);
            return 0;
        }));
        return cmd;
    }

    /// <summary>The answer's points in pixels of the image, and its count; returns the points.</summary>
    static IReadOnlyList<MolmoPoint> PrintPoints(string answer, RgbImage? img)
    {
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
        return points;
    }

    static void PrintStats(AskStats st, TorchSharp.DeviceType device) =>
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"prompt {st.PromptTokens} tokens ({st.Crops} crops{(st.CachedPromptTokens > 0 ? $", {st.CachedPromptTokens} from the prefix cache" : "")}), preprocess {st.Preprocess.TotalMilliseconds:F0} ms, prefill {st.Prefill.TotalSeconds:F2} s, " +
            $"{st.GeneratedTokens} tokens at {st.DecodeTokensPerSecond:F2} tok/s ({StepsName(st.DecodeSteps)}" +
            $"{(device == TorchSharp.DeviceType.CPU ? $"; {CommonOptions.CpuRoutesText()}" : "")}), finished: {st.FinishReason}"));

    static string StepsName(DecodeSteps steps) => steps switch
    {
        DecodeSteps.CudaGraph => "each step one CUDA graph replay",
        DecodeSteps.FixedShape => "fixed-shape steps",
        _ => "eager steps",
    };
}
