using Molmo.TestSupport;
using SkiaSharp;

namespace Molmo.Tests.Cli;

/// <summary>The user-facing commands on the random-weight demo model: they run end to end and fail cleanly on bad input.</summary>
[Collection("cli")]
public class UserCommandTests
{
    static readonly Lazy<string> DemoDir = new(() => DemoModel.Create(TestPaths.NewTempDir("molmo-demo-model")));

    static string DemoImage()
    {
        var path = Path.Combine(TestPaths.NewTempDir(), "scene.png");
        File.WriteAllBytes(path, DemoModel.DrawTestImage(320, 240));
        return path;
    }

    [Fact]
    public void AskStreamsAnAnswerAndWritesTheOverlay()
    {
        var overlay = Path.Combine(TestPaths.NewTempDir(), "overlay.png");
        var (code, output, err) = CliHarness.Run("ask", "--model", DemoDir.Value, "--image", DemoImage(), "--max-tokens", "6", "--overlay", overlay, "--stats", "Point to the red circle.");
        Assert.True(code == 0, err);
        Assert.False(string.IsNullOrWhiteSpace(output));
        Assert.Contains("prefill", err);
        // On the CPU, with the kernels' instruction sets; a GPU says "each step one CUDA graph replay".
        Assert.Contains($"(eager steps; CPU kernels on {Molmo.Model.Kernels.CpuGemv.InstructionSets}{(Molmo.Model.Float32Gemm.LibTorchBf16GemmIsFast ? "" : ", bf16 GEMMs in float32")}, {(Molmo.Runtime.TorchRuntime.CpuThreads == 1 ? "1 thread" : $"{Molmo.Runtime.TorchRuntime.CpuThreads} threads")})", err);
        using var bmp = SKBitmap.Decode(overlay);
        Assert.Equal(320, bmp.Width);
    }

    [Fact]
    public void ThreadsSetsTheCpuThreadsForTheRunWithoutChangingTheAnswer()
    {
        var image = DemoImage();
        Molmo.Runtime.TorchRuntime.ApplyCpuThreads();     // this thread's count as an earlier test's --threads left it
        int kernels = Molmo.Runtime.TorchRuntime.CpuThreads, torchThreads = TorchSharp.torch.get_num_threads();
        var plain = CliHarness.Run("ask", "--model", DemoDir.Value, "--image", image, "--max-tokens", "6", "Point to the red circle.");
        Assert.True(plain.Code == 0, plain.Err);
        var one = CliHarness.Run("ask", "--model", DemoDir.Value, "--image", image, "--max-tokens", "6", "--threads", "1", "--stats", "Point to the red circle.");
        Assert.True(one.Code == 0, one.Err);
        Assert.Equal(plain.Out, one.Out);
        Assert.Contains("CPU kernels on", one.Err);
        Assert.Contains(", 1 thread)", one.Err);
        // The counts the run replaced are back once it ends (libtorch's, on each thread as it next runs the model).
        Assert.Equal(kernels, Molmo.Runtime.TorchRuntime.CpuThreads);
        Molmo.Runtime.TorchRuntime.ApplyCpuThreads();
        Assert.Equal(torchThreads, TorchSharp.torch.get_num_threads());
        var many = CliHarness.Run("ask", "--model", DemoDir.Value, "--image", image, "--max-tokens", "2", "--threads", (Environment.ProcessorCount + 1).ToString(), "x");
        Assert.True(many.Code == 0, many.Err);
        Assert.Contains($"more than the {Environment.ProcessorCount} logical CPUs", many.Err);
        foreach (var bad in new[] { "0", "-3", "5000" })
        {
            var run = CliHarness.Run("ask", "--model", DemoDir.Value, "--image", image, "--threads", bad, "x");
            Assert.NotEqual(0, run.Code);
            Assert.Contains("--threads must be between 1 and", run.Err);
        }
    }

    [Fact]
    public void SeveralImagesAreAnsweredTogetherInOrderWithTheSingleImageAnswers()
    {
        var dir = TestPaths.NewTempDir();
        var paths = new[] { (320, 240), (200, 300), (480, 200) }.Select((s, i) =>
        {
            var path = Path.Combine(dir, $"scene{i}.png");
            File.WriteAllBytes(path, DemoModel.DrawTestImage(s.Item1, s.Item2));
            return path;
        }).ToArray();
        string Single(string path) => CliHarness.Run("ask", "--model", DemoDir.Value, "--image", path, "--max-tokens", "6", "Point to the red circle.").Out;
        var (code, output, err) = CliHarness.Run("ask", "--model", DemoDir.Value, "--image", paths[0], "--image", paths[1], "--image", paths[2],
                                                 "--batch", "2", "--max-tokens", "6", "Point to the red circle.");
        Assert.True(code == 0, err);
        var sections = output.Split("== ", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, sections.Length);
        var singles = paths.Select(p => Single(p).Trim()).ToArray();
        Assert.True(singles.Distinct().Count() > 1, "the images' answers differ, so a mix-up would show");
        for (int i = 0; i < 3; i++)
        {
            var lines = sections[i].Split('\n', 2);
            Assert.Equal(paths[i], lines[0].TrimEnd('\r'));
            Assert.Equal(singles[i], lines[1].Trim());
        }
        // --steps changes how steps are issued on a GPU, never the answers (on the CPU there is nothing to record: graph
        // steps go on eagerly after a note).
        foreach (var steps in new[] { "graph", "eager" })
        {
            var run = CliHarness.Run("ask", "--model", DemoDir.Value, "--image", paths[0], "--image", paths[1], "--batch", "2",
                                     "--max-tokens", "6", "--steps", steps, "Point to the red circle.");
            Assert.True(run.Code == 0, run.Err);
            var runSections = run.Out.Split("== ", StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, runSections.Length);
            for (int i = 0; i < 2; i++) Assert.Equal(singles[i], runSections[i].Split('\n', 2)[1].Trim());
        }
        var badSteps = CliHarness.Run("ask", "--model", DemoDir.Value, "--image", paths[0], "--steps", "fast", "x");
        Assert.NotEqual(0, badSteps.Code);
        Assert.Contains("fast", badSteps.Err);
        var overlay = CliHarness.Run("ask", "--model", DemoDir.Value, "--image", paths[0], "--image", paths[1], "--overlay", Path.Combine(dir, "o.png"), "x");
        Assert.Equal(1, overlay.Code);
        Assert.Contains("exactly one --image", overlay.Err);
    }

    [Fact]
    public void SeveralPromptsAboutOneImageAreAnsweredTogetherFromItsCachedPrefill()
    {
        var image = DemoImage();
        var questions = new[] { "Point to the red circle.", "Describe this image.", "How many shapes?" };
        string Single(string q) => CliHarness.Run("ask", "--model", DemoDir.Value, "--image", image, "--max-tokens", "6", q).Out.Trim();
        var (code, output, err) = CliHarness.Run(["ask", "--model", DemoDir.Value, "--image", image, "--max-tokens", "6", "--stats", .. questions]);
        Assert.True(code == 0, err);
        var sections = output.Split("== ", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, sections.Length);
        for (int i = 0; i < 3; i++)
        {
            var lines = sections[i].Split('\n', 2);
            Assert.Equal(questions[i], lines[0].TrimEnd('\r'));
            Assert.Equal(Single(questions[i]), lines[1].Trim());
        }
        // The first prompt is computed whole; the later two continue from the image's positions.
        var stats = err.Split('\n').Where(l => l.StartsWith("prompt ", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, stats.Count);
        Assert.DoesNotContain("prefix cache", stats[0]);
        Assert.All(stats.Skip(1), l => Assert.Contains("from the prefix cache", l));

        var twoImages = CliHarness.Run("ask", "--model", DemoDir.Value, "--image", image, "--image", image, "a", "b");
        Assert.Equal(1, twoImages.Code);
        Assert.Contains("at most one --image", twoImages.Err);
        var overlay = CliHarness.Run("ask", "--model", DemoDir.Value, "--image", image, "--overlay", Path.Combine(TestPaths.NewTempDir(), "o.png"), "a", "b");
        Assert.Equal(1, overlay.Code);
        Assert.Contains("one prompt", overlay.Err);
    }

    [Fact]
    public void SamplingIsReproducibleWithASeed()
    {
        string Ask(string seed) => CliHarness.Run("ask", "--model", DemoDir.Value, "--max-tokens", "8", "--temperature", "1.0", "--top-k", "50", "--seed", seed, "Hello").Out;
        Assert.Equal(Ask("7"), Ask("7"));
        Assert.NotEqual(Ask("7"), Ask("8"));
    }

    [Fact]
    public void CorruptImageGivesAClearErrorNamingTheFile()
    {
        var bad = Path.Combine(TestPaths.NewTempDir(), "broken.png");
        File.WriteAllBytes(bad, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]);
        var (code, _, err) = CliHarness.Run("ask", "--model", DemoDir.Value, "--image", bad, "what is this?");
        Assert.Equal(1, code);
        Assert.Contains("broken.png", err);
    }

    [Fact]
    public void BadOptionsAreRejected()
    {
        Assert.Equal(1, CliHarness.Run("ask", "--model", DemoDir.Value, "--top-p", "0", "x").Code);
        var (code, _, err) = CliHarness.Run("ask", "--model", DemoDir.Value, "--device", "tpu", "x");
        Assert.Equal(1, code);
        Assert.Contains("unknown device", err);
        var missing = CliHarness.Run("ask", "--model", Path.Combine(TestPaths.NewTempDir(), "nope"), "x");
        Assert.Equal(1, missing.Code);
    }

    [Fact]
    public void InspectDescribesTheReleased7BDWithoutWeights()
    {
        var (code, output, err) = CliHarness.Run("inspect", Path.Combine(TestPaths.Models, "molmo-7b-d-0924"));
        Assert.True(code == 0, err);
        Assert.Contains("8,021,025,280", output);
        Assert.Contains("152066", output);     // <im_patch>, from the tokenizer files
        // The weight-only quantised sizes, as the loader would allocate them (the table may wrap the row anywhere).
        var cfg = Molmo.Checkpoints.MolmoConfig.Load(Path.Combine(TestPaths.Models, "molmo-7b-d-0924"));
        string Gb(Molmo.Model.ModelPlacement p)
        {
            using var m = new Molmo.Model.MolmoForCausalLM(cfg, p);
            return $"{Molmo.Checkpoints.MemoryBudget.WeightBytes(m) / 1e9:F1}GB";
        }
        var flat = System.Text.RegularExpressions.Regex.Replace(output, @"[\s│]", "");
        Assert.Contains(Gb(new(TorchSharp.torch.ScalarType.BFloat16, TorchSharp.torch.META, Int8Decoder: true)) + "inint8", flat);
        Assert.Contains(Gb(new(TorchSharp.torch.ScalarType.BFloat16, TorchSharp.torch.META) { Int4Decoder = true }) + "inint4", flat);
    }

    [Fact]
    public void QuantizeWritesAFolderThatLoadsWithItsDtypeAndRefusesToWriteTwice()
    {
        var outDir = Path.Combine(TestPaths.NewTempDir(), "int4");
        var model = Path.Combine(TestPaths.Golden, "tiny_d_style");
        var (code, _, err) = CliHarness.Run("quantize", "--model", model, "--dtype", "int4", "--out", outDir);
        Assert.True(code == 0, err);
        Assert.Contains("load it with --dtype int4", err);
        Assert.Equal("int4", Molmo.Checkpoints.MolmoConfig.Load(outDir).Quantization);
        var inspect = CliHarness.Run("inspect", outDir);
        Assert.True(inspect.Code == 0, inspect.Err);
        Assert.Contains("loaditwith--dtypeint4", System.Text.RegularExpressions.Regex.Replace(inspect.Out, @"[\s│]", ""));
        var again = CliHarness.Run("quantize", "--model", model, "--out", outDir);
        Assert.Equal(1, again.Code);
        Assert.Contains("not empty", again.Err);
        // bf16: an ordinary checkpoint of half the size, which any dtype loads (the demo model: float32, with a tokenizer).
        var bf16 = Path.Combine(TestPaths.NewTempDir(), "bf16");
        var converted = CliHarness.Run("quantize", "--model", DemoDir.Value, "--dtype", "bf16", "--out", bf16);
        Assert.True(converted.Code == 0, converted.Err);
        Assert.Contains("load it with --dtype bf16 (or int8 / int4", converted.Err);
        Assert.Equal("bfloat16", Molmo.Checkpoints.MolmoConfig.Load(bf16).TorchDtype);
        foreach (var dtype in new[] { "bf16", "int8" })
        {
            var ask = CliHarness.Run("ask", "--model", bf16, "--dtype", dtype, "--max-tokens", "2", "Hello");
            Assert.True(ask.Code == 0, ask.Err);
        }
        var bad = CliHarness.Run("quantize", "--model", model, "--dtype", "fp16", "--out", Path.Combine(TestPaths.NewTempDir(), "x"));
        Assert.Equal(1, bad.Code);
        Assert.Contains("fp16", bad.Err);
    }

    [Fact]
    public void DemoRunsTheWholePipeline()
    {
        var outDir = TestPaths.NewTempDir();
        var (code, _, err) = CliHarness.Run("demo", "--max-tokens", "4", "--out", outDir);
        Assert.True(code == 0, err);
        Assert.True(File.Exists(Path.Combine(outDir, "demo-overlay.png")));
    }
}

[Collection("cli")]
public class CropOverlayTests
{
    [Fact]
    public void CropWindowsTileTheImageAndAreDrawn()
    {
        // 640×480 → 2×3 crops (tiling from the golden index); every kept region lies inside its window, and together the
        // kept regions cover the image's width exactly once along a row.
        var windows = Molmo.Imaging.CropOverlay.Windows(480, 640);
        Assert.Equal(6, windows.Count);
        Assert.All(windows, w => Assert.True(w.Window.Contains(w.Kept)));
        var row0 = windows.Take(3).Select(w => w.Kept).ToList();
        Assert.Equal(row0[0].Right, row0[1].Left, 3);
        Assert.Equal(row0[1].Right, row0[2].Left, 3);

        var png = Path.Combine(TestPaths.NewTempDir(), "crops.png");
        var pre = Path.Combine(TestPaths.Golden, "preprocessing");
        var (code, _, err) = CliHarness.Run("preprocess", "--model", Path.Combine(TestPaths.Models, "molmo-7b-d-0924"), "--image", Path.Combine(pre, "img_480x640.png"),
                                             "--prompt", "x", "--out", Path.Combine(TestPaths.NewTempDir(), "in.safetensors"), "--crops-png", png);
        Assert.True(code == 0, err);
        using var bmp = SKBitmap.Decode(png);
        Assert.Equal((640, 480), (bmp.Width, bmp.Height));
        var edge = windows[0].Window;   // crop 0's outline is drawn in the first palette colour (red)
        var px = bmp.GetPixel((int)((edge.Left + edge.Right) / 2), (int)Math.Clamp(Math.Round(edge.Top), 0, 479));
        Assert.True(px.Red > 150 && px.Green < 120, $"outline colour expected, got {px}");
    }
}
