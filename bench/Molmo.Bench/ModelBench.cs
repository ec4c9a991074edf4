using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Molmo.Checkpoints;
using Molmo.Generation;
using Molmo.Imaging;
using Molmo.Model;
using Molmo.Model.Kernels;
using Molmo.Runtime;
using Molmo.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Molmo.Bench;

/// <summary>
/// End-to-end model benchmark with random weights of a chosen architecture: load time, peak RSS, preprocessing, prefill of a
/// 640×480 and a 1920×1080 prompt, decode tokens/s, and decode's achieved weight bandwidth against this machine's measured DRAM
/// bandwidth. The checkpoint (sharded safetensors, written once by a child process so it does not inflate the measured RSS)
/// is cached in a folder and reused.
/// With <c>--compare-libtorch</c> (CPU, bf16 or fp32) decode is timed a second time with libtorch's <c>linear</c> in place of the engine's
/// GEMV kernel, the engine's earlier path, as a baseline measured in the same run. With <c>--compare int8-float</c> (int8 on
/// the CPU) decode and the batches are also timed with the earlier int8 kernel (float32 products), in alternating rounds;
/// <c>--compare int8-dequant</c> (int8 on CUDA) likewise with the matrices dequantised for cuBLAS instead of the int8 kernel.
/// Usage: <c>model --arch tiny|1b|7b-d [--dtype bf16|fp32|int8|int4] [--device cpu|cuda] [--decode N] [--batch 1,4,16] [--batch-images 4] [--ask-batch 8] [--steps default|eager|sync|queued|fixed|graph] [--compare MODE[,MODE…] | --compare-sync] [--gemv-threads N] [--threads N] [--weights DIR] [--no-1080p] [--no-prefix] [--prefill-rounds N] [--prefill-parts] [--compare-libtorch] [--append FILE]</c>
/// With <c>--prefill-rounds N</c> and a compared mode that changes prefill (<c>libtorch-bf16-gemm</c>, <c>widened-slices</c>, <c>dequantise-first</c>, <c>bf16-weights</c>), N 640×480 prefills each way, alternating.
/// </summary>
public static class ModelBench
{
    // Reference Python implementation (HF remote code, torch, bf16, batch 1) on this machine kind (2-vCPU EPYC), from the issue.
    const double RefCpuPrefill640S = 138.6, RefCpuDecodeTokS = 0.49, RefCpuPeakRssGB = 17.4;
    // The same on an H200 (stack notes §8).
    const double RefGpuPrefill640Ms = 50.5, RefGpuPrefill1080Ms = 80.4, RefGpuDecodeTokS = 14.4;

    public static JsonObject ArchConfig(string arch)
    {
        var cfg = (JsonObject)Molmo.DemoModel.ConfigJson().DeepClone();
        switch (arch)
        {
            case "tiny": break;
            case "1b":   // Qwen2-style ~1.2B decoder with the real (hard-coded) vision backbone
                Set(cfg, hidden: 1536, layers: 16, heads: 12, kv: 2, inter: 17920);
                cfg.Remove("molmo_ext");
                break;
            case "7b-d": // the released Molmo-7B-D shapes
                Set(cfg, hidden: 3584, layers: 28, heads: 28, kv: 4, inter: 37888);
                cfg.Remove("molmo_ext");
                break;
            default: throw new ArgumentException($"unknown --arch '{arch}' (tiny, 1b, 7b-d)");
        }
        return cfg;

        static void Set(JsonObject c, int hidden, int layers, int heads, int kv, int inter)
        {
            c["hidden_size"] = hidden; c["num_hidden_layers"] = layers; c["num_attention_heads"] = heads;
            c["num_key_value_heads"] = kv; c["intermediate_size"] = inter;
        }
    }

    /// <summary>Child-process step: writes random weights of <c>--arch</c> in <c>--dtype</c> to <c>--out</c>.</summary>
    public static int MakeWeights(string[] args)
    {
        var a = Args.Parse(args);
        string arch = a.Get("--arch", "tiny")!, outDir = a.Get("--out", "")!;
        var dtype = TorchRuntime.ParseDType(a.Get("--dtype", "bf16")!);
        Directory.CreateDirectory(outDir);
        var cfgJson = ArchConfig(arch);
        var cfg = MolmoConfig.Parse(cfgJson);
        var sw = Stopwatch.StartNew();
        using var model = new MolmoForCausalLM(cfg, new ModelPlacement(dtype, CPU));
        RandomWeights.Initialize(model, seed: 1);
        Console.Error.WriteLine($"random {arch} weights ({model.ParameterCount:N0} params) initialised in {sw.Elapsed.TotalSeconds:F1} s; writing…");
        var byName = model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        var layout = byName.Select(kv => (kv.Key, kv.Value.NumberOfElements * kv.Value.ElementSize)).OrderBy(x => x.Key, StringComparer.Ordinal).ToList();
        SafetensorsWriter.SaveSharded(outDir, layout, n => byName[n].detach(), maxShardBytes: 4L << 30);
        foreach (var f in Directory.GetFiles(Molmo.DemoModel.BundledTokenizerDirectory)) File.Copy(f, Path.Combine(outDir, Path.GetFileName(f)), true);
        cfgJson["torch_dtype"] = dtype == ScalarType.BFloat16 ? "bfloat16" : "float32";
        File.WriteAllText(Path.Combine(outDir, "config.json"), cfgJson.ToJsonString(new() { WriteIndented = true }));
        Console.Error.WriteLine($"written to {outDir} in {sw.Elapsed.TotalSeconds:F1} s");
        return 0;
    }

    /// <summary>Resets the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux: "5" to /proc/self/clear_refs).</summary>
    static void ResetPeakRss()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { Console.Error.WriteLine("note: could not reset the peak-RSS mark; peak RSS includes the bandwidth probe"); }
    }

    /// <summary>Seconds per generated token (the first entry is the prefill), greedy, <paramref name="tokens"/> tokens.</summary>
    /// No device sync per token: a token is on the host when it is yielded (so each time is honest), and on a GPU greedy steps
    /// are queued one ahead of the host (Generator.Pipelined), unless <paramref name="mode"/> says otherwise.
    static List<double> TokenTimes(MolmoForCausalLM model, ModelInputs inputs, int eos, int tokens, bool cuda, DecodeMode? mode = null,
                                   PrefixCache? prefixes = null, List<(long Bytes, TimeSpan Time)>? streamed = null)
    {
        var times = new List<double>();
        var sw = Stopwatch.StartNew();
        var generator = new Molmo.Generation.Generator(model, eos) { Pipelined = mode?.Pipelined, Steps = mode?.Steps ?? DecodeSteps.Auto, Prefixes = prefixes };
        using (KernelRoutes(mode))
            foreach (var _ in generator.Generate(inputs, new GenerationOptions { MaxNewTokens = tokens, StopOnEos = false }))
            {
                times.Add(sw.Elapsed.TotalSeconds);
                streamed?.Add(CpuGemv.Streamed);
                sw.Restart();
            }
        if (cuda) torch.cuda.synchronize();   // the step queued after the last token
        return times;
    }

    /// <summary>The kernels' routes for the calling thread while the result lives: the engine's, or with mode int8-float
    /// the CPU kernel's earlier float products, with no-prefetch single CPU weight rows left to the hardware prefetcher, with
    /// libtorch-conversions the CPU kernel's input and output converted by libtorch, with within-rows its four-row blocks'
    /// prefetch kept inside each row, with
    /// mode int8-dequant on CUDA the dequantise-then-cuBLAS route, with int8-by-rows the CUDA kernel sharing matrices out by
    /// rows.</summary>
    static IDisposable KernelRoutes(DecodeMode? mode)
    {
        bool saved = CpuGemv.Int8FloatProducts, savedCuda = Molmo.Runtime.CudaQuantGemv.Enabled;
        bool savedPrefetch = CpuGemv.NoRowPrefetch, savedSplit = Molmo.Runtime.CudaQuantGemv.SplitColumns;
        bool savedConversions = CpuGemv.LibtorchConversions, savedWithin = CpuGemv.PrefetchWithinRows;
        bool savedWidened = Float32Gemm.Enabled, savedRowByRow = CpuGemv.IntBatchesRowByRow, savedSlices = Float32Gemm.WidenedSlices;
        bool savedDequantiseFirst = Float32Gemm.DequantiseFirst, savedBf16Weights = Float32Gemm.QuantisedAsBf16Weights;
        bool savedRowsWidened = CpuGemv.Bf16RowsWidened;
        int savedKernelRows = Linear.Bf16KernelMaxRows;
        if (mode?.LibtorchBf16Gemm == true) (Float32Gemm.Enabled, Linear.Bf16KernelMaxRows) = (false, 1);
        CpuGemv.Int8FloatProducts = mode?.Int8FloatProducts ?? false;
        CpuGemv.NoRowPrefetch = mode?.NoRowPrefetch ?? false;
        CpuGemv.LibtorchConversions = mode?.LibtorchConversions ?? false;
        CpuGemv.PrefetchWithinRows = mode?.PrefetchWithinRows ?? false;
        CpuGemv.IntBatchesRowByRow = mode?.IntRowByRow ?? false;
        Float32Gemm.WidenedSlices = mode?.WidenedSlices ?? false;
        Float32Gemm.DequantiseFirst = mode?.DequantiseFirst ?? false;
        Float32Gemm.QuantisedAsBf16Weights = mode?.Bf16Weights ?? false;
        CpuGemv.Bf16RowsWidened = mode?.RowsWidened ?? false;
        Molmo.Runtime.CudaQuantGemv.Enabled = !(mode?.CudaDequantised ?? false);
        Molmo.Runtime.CudaQuantGemv.SplitColumns = !(mode?.Int8ByRows ?? false);
        return new Restore(() =>
        {
            CpuGemv.Int8FloatProducts = saved;
            CpuGemv.NoRowPrefetch = savedPrefetch;
            CpuGemv.LibtorchConversions = savedConversions;
            CpuGemv.PrefetchWithinRows = savedWithin;
            CpuGemv.IntBatchesRowByRow = savedRowByRow;
            Float32Gemm.WidenedSlices = savedSlices;
            Float32Gemm.DequantiseFirst = savedDequantiseFirst;
            Float32Gemm.QuantisedAsBf16Weights = savedBf16Weights;
            CpuGemv.Bf16RowsWidened = savedRowsWidened;
            Molmo.Runtime.CudaQuantGemv.Enabled = savedCuda;
            Molmo.Runtime.CudaQuantGemv.SplitColumns = savedSplit;
            (Float32Gemm.Enabled, Linear.Bf16KernelMaxRows) = (savedWidened, savedKernelRows);
        });
    }

    sealed class Restore(Action undo) : IDisposable { public void Dispose() => undo(); }

    /// <summary>How the benchmark has decode steps issued: <c>default</c> (the engine's default for the device: on CUDA, graph
    /// steps queued one ahead), <c>eager</c> (each step's ops issued from C#, queued as the device's default), <c>sync</c>
    /// (eager, each step's tokens read back before the next is queued), <c>queued</c> (eager, one step ahead), <c>fixed</c>
    /// (queued, fixed-shape steps), <c>graph</c> (queued, the fixed-shape step replayed as a CUDA graph); or which int8 route
    /// runs, steps as by default: <c>int8-float</c> (the CPU kernel's earlier float products), <c>int8-dequant</c> (CUDA:
    /// dequantised for cuBLAS), <c>int8-by-rows</c> (CUDA: the int8 kernel sharing each matrix out by rows, as first measured),
    /// <c>no-prefetch</c> (CPU: a single sequence's weight rows without the kernel's software prefetch),
    /// <c>libtorch-conversions</c> (CPU: the kernel's input and output converted by libtorch around it), <c>within-rows</c>
    /// (CPU: the four-row blocks' prefetch kept inside each row), <c>libtorch-bf16-gemm</c> (CPU: libtorch's bf16 GEMM for
    /// every bf16 product above one row, as before <see cref="Float32Gemm"/>; its 640×480 prefill is timed too),
    /// <c>int-row-by-row</c> (CPU with AVX2 only: batched int8 and int4 steps row by row, as before their AVX2 blocks),
    /// <c>widened-slices</c> (CPU with AVX2 but no fast bf16 GEMM in libtorch: prefill's products in libtorch's float32 GEMM,
    /// bf16 weights widened a slice at a time, float32 ones as they are, as before the packed GEMM; its 640×480 prefill is
    /// timed too), <c>dequantise-first</c> (int8 and int4 on a CPU with the packed GEMM: prefill's weights dequantised to bf16
    /// before the packed GEMM widens them, as before it read the quantised rows itself; its 640×480 prefill is timed too),
    /// <c>bf16-weights</c> (int8 and int4 on a CPU with the packed GEMM: prefill's weights read as bf16(q · scale) into the
    /// float32 GEMM, as before its integer products; its 640×480 prefill is timed too), <c>rows-widened</c> (bf16 on a CPU with
    /// AVX2 only: a single sequence's rows one at a time, each widened against float32 x, as before they took the batched
    /// blocks' arithmetic).</summary>
    internal sealed record DecodeMode(string Name, bool? Pipelined, DecodeSteps Steps, bool Int8FloatProducts = false, bool CudaDequantised = false,
                                      bool NoRowPrefetch = false, bool Int8ByRows = false, bool LibtorchConversions = false,
                                      bool PrefetchWithinRows = false, bool LibtorchBf16Gemm = false, bool IntRowByRow = false,
                                      bool WidenedSlices = false, bool DequantiseFirst = false, bool Bf16Weights = false, bool RowsWidened = false)
    {
        /// <summary>Whether the mode switches a kernel route rather than how steps are issued.</summary>
        public bool ComparesKernels => Int8FloatProducts || CudaDequantised || NoRowPrefetch || Int8ByRows || LibtorchConversions || PrefetchWithinRows || LibtorchBf16Gemm || IntRowByRow || WidenedSlices || DequantiseFirst || Bf16Weights || RowsWidened;

        /// <summary>Whether the mode changes prefill's products and nothing a decode step does (its prefill is timed instead).</summary>
        public bool ChangesPrefillOnly => LibtorchBf16Gemm || WidenedSlices || DequantiseFirst || Bf16Weights;

        public static DecodeMode Parse(string s) => s switch
        {
            "default" => new("steps as the engine issues them by default (on CUDA: graph steps queued one ahead)", null, DecodeSteps.Auto),
            "eager" => new("eager steps (each op issued from C#)", null, DecodeSteps.Eager),
            "int8-float" => new("int8 rows widened to float32 (the earlier int8 kernel)", null, DecodeSteps.Auto, Int8FloatProducts: true),
            "int8-dequant" => new("int8 matrices dequantised to bf16 for cuBLAS every step (the earlier CUDA route)", null, DecodeSteps.Auto, CudaDequantised: true),
            "int4-dequant" => new("int4 matrices dequantised to bf16 for cuBLAS every step (without the CUDA int4 kernel)", null, DecodeSteps.Auto, CudaDequantised: true),
            "int8-by-rows" => new("the CUDA int8 kernel sharing each matrix out by rows (as first measured), not by columns", null, DecodeSteps.Auto, Int8ByRows: true),
            "no-prefetch" => new("a single sequence's weight rows left to the hardware prefetcher (the kernels before their software prefetch)", null, DecodeSteps.Auto, NoRowPrefetch: true),
            "libtorch-conversions" => new("the GEMV kernel's input and output converted by libtorch around it (as before it read and wrote bf16 itself)", null, DecodeSteps.Auto, LibtorchConversions: true),
            "within-rows" => new("the GEMV kernel's four-row blocks prefetching only inside each row (as before they prefetched into the next block)", null, DecodeSteps.Auto, PrefetchWithinRows: true),
            "libtorch-bf16-gemm" => new("libtorch's bf16 GEMM for every bf16 product of more than one row (before prefill's products were widened to float32 and batches took the kernel, on CPUs without AVX-512)", null, DecodeSteps.Auto, LibtorchBf16Gemm: true),
            "int-row-by-row" => new("batched int8 and int4 steps row by row (before the AVX2 CPU kernel's int8 and int4 blocks)", null, DecodeSteps.Auto, IntRowByRow: true),
            "widened-slices" => new("prefill's products in libtorch's float32 GEMM, bf16 weights widened a slice at a time (before the packed AVX2 GEMM)", null, DecodeSteps.Auto, WidenedSlices: true),
            "dequantise-first" => new("int8 and int4 prefill's weights dequantised to bf16 before the packed GEMM (before it read the quantised rows as it packs them)", null, DecodeSteps.Auto, DequantiseFirst: true),
            "bf16-weights" => new("int8 and int4 prefill's weights read as bf16(q · scale) into the float32 packed GEMM (before its integer products)", null, DecodeSteps.Auto, Bf16Weights: true),
            "rows-widened" => new("a single sequence's bf16 rows one at a time, each widened against float32 x (before single rows took the batched blocks' arithmetic, on CPUs with AVX2 only)", null, DecodeSteps.Auto, RowsWidened: true),
            "sync" => new("each step's tokens read back before the next is queued", false, DecodeSteps.Eager),
            "queued" => new("steps queued one ahead", true, DecodeSteps.Eager),
            "fixed" => new("fixed-shape steps queued one ahead", true, DecodeSteps.FixedShape),
            "graph" => new("CUDA graph steps queued one ahead", true, DecodeSteps.CudaGraph),
            _ => throw new ArgumentException($"unknown decode mode '{s}' (default, eager, sync, queued, fixed, graph, int8-float, int8-dequant, int4-dequant, int8-by-rows, no-prefetch, libtorch-conversions, within-rows, libtorch-bf16-gemm, int-row-by-row, widened-slices, dequantise-first, bf16-weights, rows-widened)"),
        };
    }

    /// <summary>The range of some rates in tokens/s: a decimal below 100 (CPU rates), whole numbers above.</summary>
    static string Spread(List<double> rates)
    {
        string f = rates.Max() < 100 ? "F1" : "F0";
        return $"{rates.Min().ToString(f, CultureInfo.InvariantCulture)}–{rates.Max().ToString(f, CultureInfo.InvariantCulture)}";
    }

    /// <summary>Seconds as read best: milliseconds under a second (GPU prefill), else seconds.</summary>
    static string Duration(double seconds) => seconds < 1 ? $"{seconds * 1000:F1} ms" : $"{seconds:F2} s";

    static double Median(List<double> xs)
    {
        var o = xs.Order().ToList();
        return o.Count % 2 == 1 ? o[o.Count / 2] : (o[o.Count / 2 - 1] + o[o.Count / 2]) / 2;
    }

    /// <summary>Decode tokens/s: the steps after the first token.</summary>
    static double DecodeRate(List<double> times) => (times.Count - 1) / times.Skip(1).Sum();

    public static int Run(string[] args)
    {
        var a = Args.Parse(args);
        IEnumerable<int> Sizes(string option) =>
            (a.Get(option, null) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(x => int.Parse(x, CultureInfo.InvariantCulture));
        string arch = a.Get("--arch", "tiny")!;
        string dtypeName = a.Get("--dtype", "bf16")!;
        string deviceName = a.Get("--device", "cpu")!;
        int decode = int.Parse(a.Get("--decode", "128")!, CultureInfo.InvariantCulture);
        int prefillRounds = Math.Max(1, int.Parse(a.Get("--prefill-rounds", "1")!, CultureInfo.InvariantCulture));
        bool with1080 = !a.Has("--no-1080p");
        ArchConfig(arch);   // an unknown --arch fails here, before anything is written
        if (a.Get("--gemv-threads", null) is { } gt) CpuGemv.MaxThreads = int.Parse(gt, CultureInfo.InvariantCulture);
        // --threads N: the CLI's option (kernel threads and libtorch's), for the whole run.
        using var cpuThreads = a.Get("--threads", null) is { } th ? TorchRuntime.UseCpuThreads(int.Parse(th, CultureInfo.InvariantCulture)) : null;
        var device = TorchRuntime.ParseDevice(deviceName);
        var placement = TorchRuntime.ParsePlacement(dtypeName, device);
        var dtype = placement.DType;
        // int8 and int4 are quantised at load time from a bf16 checkpoint.
        var weights = a.Get("--weights", Path.Combine(Path.GetTempPath(), $"molmo-bench-{arch}-{TorchRuntime.DTypeName(dtype)}"))!;
        if (!File.Exists(Path.Combine(weights, "config.json")))
        {
            Console.Error.WriteLine($"no checkpoint at {weights}: writing random {arch} weights in a child process…");
            var self = Environment.GetCommandLineArgs()[0];
            var psi = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") psi.ArgumentList.Add(self);
            foreach (var x in new[] { "make-weights", "--arch", arch, "--dtype", TorchRuntime.DTypeName(dtype), "--out", weights }) psi.ArgumentList.Add(x);
            using var p = Process.Start(psi)!;
            p.WaitForExit();
            if (p.ExitCode != 0) { Console.Error.WriteLine("writing weights failed"); return 1; }
        }

        bool cuda = device.type == TorchSharp.DeviceType.CUDA;
        Console.Error.WriteLine("measuring DRAM bandwidth…");
        // The probe runs before loading and again after decoding (this VM's bandwidth moves with its neighbours' load); the
        // limit is the best of the two.
        var (bw1, bwAll) = cuda ? (0, 0) : MemoryBandwidth.Measure(2L << 30, 5);
        GC.Collect();
        ResetPeakRss();   // the probe's 2 GiB buffer is not the model's
        long rssBefore = ModelLoader.CurrentRssBytes();

        var sw = Stopwatch.StartNew();
        var tokenizer = MolmoTokenizer.FromDirectory(weights);
        using var model = ModelLoader.Load(weights, placement);
        double loadS = sw.Elapsed.TotalSeconds;
        long rssAfterLoad = ModelLoader.PeakRssBytes();
        var cfg = model.Config;
        long weightBytes = MemoryBudget.WeightBytes(model);
        // Bytes a decode step must read: every decoder block, the final norm and the LM head (one embedding row is negligible).
        long decodeBytes = model.named_parameters().Where(p => p.name.StartsWith("model.transformer.", StringComparison.Ordinal)
                                                              && !p.name.Contains(".wte.")).Sum(p => p.parameter.NumberOfElements * p.parameter.ElementSize);
        Console.Error.WriteLine($"loaded {model.ParameterCount:N0} params ({weightBytes / 1e9:F2} GB) in {loadS:F1} s");

        long gpuPeak = cuda ? GpuMemory.UsedBytes() ?? 0 : 0;
        var special = SpecialIds.Resolve(cfg, tokenizer);
        var processor = new MolmoProcessor(tokenizer, special);
        // --steps: how decode steps are issued in the timed runs (default: the engine's default for the device). --compare M
        // (--compare-sync: M = sync; --compare M1,M2: each) times mode M too, in rounds alternating with the main one: the engine's default on CUDA;
        // on a CPU, where queuing is otherwise off and gains nothing, queued steps, so that the comparison still runs both
        // paths (not for int8-float, int8-dequant, int8-by-rows, no-prefetch, libtorch-conversions or within-rows, which compare kernels).
        var others = a.Has("--compare-sync") ? [DecodeMode.Parse("sync")]
                   : a.Get("--compare", null) is { } cm ? cm.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(DecodeMode.Parse).ToList() : new List<DecodeMode>();
        bool compare = others.Count > 0;
        var main = a.Get("--steps", null) is { } sm ? DecodeMode.Parse(sm)
                 : others.Any(o => o.ComparesKernels) ? DecodeMode.Parse("default")
                 : compare ? DecodeMode.Parse(cuda ? "default" : "queued") : null;
        // Warm-up (JIT, kernel selection) on a small image so the timed runs are steady-state. On a GPU, where a step is bound
        // by the host, long enough for .NET's tiered JIT to have optimised the per-step code of both decoding modes.
        using (var warm = NewDisposeScope())
        {
            var hi = processor.Process(ImageDecoder.Decode(PreprocessBench.SynthesisePng(100, 100)), "Hi").ToModelInputs();
            TokenTimes(model, hi, special.Eos, cuda ? 64 : 3, cuda, main);
            foreach (var other in others) TokenTimes(model, hi, special.Eos, cuda ? 64 : 3, cuda, other);
        }
        // On CUDA, also one untimed pass over each timed prompt: libtorch's SDPA pays ~40 ms the first time it sees a sequence
        // length (stack notes §8.1), a one-off per shape that a server pays once; the reference's figures are warm too.
        // That untimed pass is timed too and reported as the cold prefill: what a request of a length not seen before pays.
        var sizes640 = with1080 ? new[] { (640, 480), (1920, 1080) } : new[] { (640, 480) };
        var photos = sizes640.ToDictionary(s => s, s => ImageDecoder.Decode(PreprocessBench.SynthesisePng(s.Item1, s.Item2)));
        var coldPrefill = new Dictionary<string, double>();
        if (cuda)
            foreach (var (w, h) in sizes640)
            {
                using var warm = NewDisposeScope();
                coldPrefill[$"{w}×{h}"] = TokenTimes(model, processor.Process(photos[(w, h)], "Describe this image.").ToModelInputs(), special.Eos, 2, cuda)[0];
            }
        // The prefix cache of the "second question" row below: the timed 640×480 prefill stores its prompt in it.
        using var prefixes = a.Has("--no-prefix") ? null : new PrefixCache(model);
        // With --compare, each decode is measured in rounds that alternate the modes, so that a noisy host affects all alike;
        // medians.
        const int Rounds = 3, PrefillSamples = 7;
        var comparedRows = new List<string>();   // --compare: batch 1 decode (and a prefill) in the other modes
        var rows = new List<string[]>();
        double? decodeTokS = null, prefill640 = null, prefill1080 = null;
        bool decodeRounds = false;   // batch 1's decode measured in alternating rounds (--compare)
        foreach (var (w, h) in sizes640)
        {
            sw.Restart();
            var processed = processor.Process(photos[(w, h)], "Describe this image.");
            double preMs = sw.Elapsed.TotalMilliseconds;
            using var scope = NewDisposeScope();
            var inputs = processed.ToModelInputs();
            var times = TokenTimes(model, inputs, special.Eos, (w == 640 ? decode : 1) + 1, cuda, main, w == 640 ? prefixes : null);
            if (cuda) gpuPeak = Math.Max(gpuPeak, GpuMemory.UsedBytes() ?? 0);
            double prefill = times[0];
            string prefillText = Duration(prefill);
            if (cuda)
            {
                // A GPU prefill takes tens of milliseconds, within the host's jitter: the median of several whole prefills
                // (the later ones without the prefix cache, which would otherwise serve most of the prompt).
                var samples = new List<double> { prefill };
                for (int i = 1; i < PrefillSamples; i++) samples.Add(TokenTimes(model, inputs, special.Eos, 1, cuda, main)[0]);
                prefill = Median(samples);
                prefillText = $"{Duration(prefill)} (median of {PrefillSamples}: {samples.Min() * 1000:F1}–{samples.Max() * 1000:F1} ms)";
            }
            if (w == 640)
            {
                prefill640 = prefill;
                // The 640×480 prefill again in a mode that changes prefill's products (libtorch-bf16-gemm, widened-slices,
                // dequantise-first, bf16-weights).
                // --prefill-rounds N: N prefills each way, alternating (the engine's first is the one above).
                foreach (var o in others.Where(o => o.ChangesPrefillOnly))
                {
                    var theirs = new List<double>();
                    var ours = new List<double> { prefill };
                    for (int round = 0; round < prefillRounds; round++)
                    {
                        theirs.Add(TokenTimes(model, inputs, special.Eos, 1, cuda, o)[0]);
                        Console.Error.WriteLine($"640×480 prefill, {o.Name}: {Duration(theirs[^1])}");
                        if (round < prefillRounds - 1) ours.Add(TokenTimes(model, inputs, special.Eos, 1, cuda, main)[0]);
                    }
                    double before = Median(theirs), after = Median(ours);
                    string Each(List<double> t) => t.Count == 1 ? "" : $", median of {t.Count}: {string.Join(", ", t.Select(Duration))}";
                    comparedRows.Add(prefillRounds == 1
                        ? $"| prefill 640×480, {o.Name} (`--compare`, one prefill) | {Duration(before)} (the engine's, above: {Duration(prefill)}; {before / prefill:F1}× as long) | – | – |"
                        : $"| prefill 640×480, {o.Name} (`--compare`, alternating with the engine's) | {Duration(before)}{Each(theirs)} (the engine's{Each(ours)}: {Duration(after)}; {before / after:F2}× as long) | – | – |");
                }
                decodeTokS = DecodeRate(times);
                // A single sequence's decode steps are one-row products, which libtorch-bf16-gemm, widened-slices,
                // dequantise-first, bf16-weights and int-row-by-row leave alone: their rounds would only repeat the engine's (the prefill of all
                // but the last is timed above).
                var decodeOthers = others.Where(o => !o.ChangesPrefillOnly && !o.IntRowByRow).ToList();
                if (decodeOthers.Count > 0)
                {
                    decodeRounds = true;
                    var mainRates = new List<double> { decodeTokS.Value };
                    var otherRates = decodeOthers.Select(_ => new List<double>()).ToList();
                    for (int round = 0; round < Rounds; round++)
                    {
                        for (int o = 0; o < decodeOthers.Count; o++) otherRates[o].Add(DecodeRate(TokenTimes(model, inputs, special.Eos, decode + 1, cuda, decodeOthers[o])));
                        if (round < Rounds - 1) mainRates.Add(DecodeRate(TokenTimes(model, inputs, special.Eos, decode + 1, cuda, main)));
                    }
                    decodeTokS = Median(mainRates);
                    for (int o = 0; o < decodeOthers.Count; o++)
                        comparedRows.Add($"| decode, batch 1, {decodeOthers[o].Name} (`--compare`, alternating rounds) | {Median(otherRates[o]):F2} tok/s (median of {Rounds}, {otherRates[o].Min():F1}–{otherRates[o].Max():F1}; {main!.Name}, same rounds: {mainRates.Min():F1}–{mainRates.Max():F1}) | – | – |");
                }
            }
            else prefill1080 = prefill;
            Console.Error.WriteLine($"{w}×{h}: {processed.InputIds.Length} tokens, {processed.Image!.NumCrops} crops, preprocess {preMs:F0} ms, prefill {prefillText}");
            rows.Add([$"{w}×{h}", processed.InputIds.Length.ToString(CultureInfo.InvariantCulture), $"{processed.Image.NumCrops}", $"{preMs:F0} ms", prefillText]);
        }
        // On CUDA: prompts of lengths not seen before, in the prefill bucket of the 640×480 prompt (MolmoForCausalLM.PrefillBucket,
        // 64 by default there). With buckets the padded length was seen, so SDPA's per-length set-up is not paid again; without
        // them (the bucket set to 0 for one prompt) it is, which is what every new length cost before.
        string? bucketRow = null;
        if (cuda && model.PrefillBucket > 1)
        {
            using var scope = NewDisposeScope();
            var img = photos[(640, 480)];
            var withBuckets = processor.Process(img, "Describe this image in a few words.").ToModelInputs();
            var without = processor.Process(img, "Describe this image, please, in one or two sentences.").ToModelInputs();
            int bucket = model.PrefillBucket;
            double warm = TokenTimes(model, withBuckets, special.Eos, 1, cuda, main)[0];
            model.PrefillBucket = 0;
            double cold;
            try { cold = TokenTimes(model, without, special.Eos, 1, cuda, main)[0]; }
            finally { model.PrefillBucket = bucket; }
            long n1 = withBuckets.InputIds.shape[^1], n2 = without.InputIds.shape[^1];
            Console.Error.WriteLine($"640×480, new prompt lengths: {n1} tokens padded to {model.PrefillLength(n1)}: {Duration(warm)}; {n2} tokens unpadded: {Duration(cold)}");
            bucketRow = $"| prefill 640×480, a prompt length not seen before: {n1} tokens padded to {model.PrefillLength(n1)} (a length seen) / {n2} tokens without padding | " +
                        $"{Duration(warm)} / {Duration(cold)} | – | – |";
        }
        // A second question about the 640×480 image, continued from the first one's stored prompt positions (the pipeline's
        // prefix cache): what a follow-up question, or the next turn of a conversation about an image, waits for.
        string? prefixRow = null;
        if (prefixes is not null)
        {
            using var scope = NewDisposeScope();
            var second = processor.Process(photos[(640, 480)], "Point to the brightest object in the picture.");
            double followUp = TokenTimes(model, second.ToModelInputs(), special.Eos, 1, cuda, main, prefixes)[0];
            long reused = prefixes.ReusedTokens;
            Console.Error.WriteLine($"640×480, a second question: {reused} of {second.InputIds.Length} prompt tokens from the prefix cache, prefill {Duration(followUp)}");
            // On the CPU, the continued prompt's attention through the engine's kernel against libtorch's SDPA (the route such
            // prompts took before), alternating over further questions (each a prompt of its own after the stored image).
            string viaSdpa = "";
            if (!cuda && Molmo.Model.Kernels.CpuSequenceAttention.IsSupported)
            {
                string[] more = ["Point to the darkest object in the picture.", "Point to the largest object in the picture.",
                                 "Point to the smallest object in the picture.", "Point to the roundest object in the picture.",
                                 "Point to the tallest object in the picture.", "Point to the widest object in the picture."];
                var (kernelTimes, sdpaTimes) = (new List<double>(), new List<double>());
                for (int i = 0; i < more.Length; i++)
                {
                    bool sdpa = i % 2 == 1;
                    Molmo.Model.Kernels.CpuSequenceAttention.Enabled = !sdpa;
                    try { (sdpa ? sdpaTimes : kernelTimes).Add(TokenTimes(model, processor.Process(photos[(640, 480)], more[i]).ToModelInputs(), special.Eos, 1, cuda, main, prefixes)[0]); }
                    finally { Molmo.Model.Kernels.CpuSequenceAttention.Enabled = true; }
                }
                viaSdpa = $"{Duration(Median(kernelTimes))} with the attention kernel, {Duration(Median(sdpaTimes))} with libtorch's SDPA (medians of {kernelTimes.Count})";
                Console.Error.WriteLine($"640×480, further questions, alternating: {viaSdpa}; kernel {string.Join(", ", kernelTimes.Select(Duration))}, SDPA {string.Join(", ", sdpaTimes.Select(Duration))}");
                viaSdpa = "; further questions, alternating: " + viaSdpa;
            }
            prefixRow = $"| prefill 640×480, a second question about the same image ({reused} of {second.InputIds.Length} prompt tokens from the prefix cache) | " +
                        $"{Duration(followUp)} (the whole prompt, above: {Duration(prefill640!.Value)}; {prefill640.Value / followUp:F0}× less{viaSdpa}) | – | – |";
        }
        // Where a 640×480 prefill's time goes (on CUDA, or with --prefill-parts): the vision encoder alone, the decoder over as
        // many positions without the image, and the whole prefill, each timed to a device sync (medians). What the two parts
        // leave of the whole is the rest: uploads, merging the image features, masks, syncs, the first token's read-back.
        string? partsRow = null;
        if (cuda || a.Has("--prefill-parts"))
        {
            int reps = cuda ? 7 : 3;
            var inputs = processor.Process(photos[(640, 480)], "Describe this image.").ToModelInputs();
            int positions = model.PrefillLength(inputs.InputIds.shape[1]);
            // On the CPU, the baseline of the attention kernel (the ViT's and the prompt's): each part also with libtorch's SDPA
            // for the attention, alternating with the kernel rep by rep.
            bool baseline = !cuda && Molmo.Model.Kernels.CpuSequenceAttention.IsSupported;
            (double Kernel, double Sdpa) Timed(Action work)
            {
                var samples = (Kernel: new List<double>(), Sdpa: new List<double>());
                for (int i = 0; i < reps + 1; i++)   // the first is a warm-up
                    foreach (bool kernel in baseline ? [true, false] : new[] { true })
                    {
                        using var scope = NewDisposeScope();
                        using var _ = no_grad();
                        Molmo.Model.Kernels.CpuSequenceAttention.Enabled = kernel;
                        try
                        {
                            if (cuda) torch.cuda.synchronize();
                            var clock = Stopwatch.StartNew();
                            work();
                            if (cuda) torch.cuda.synchronize();
                            if (i > 0) (kernel ? samples.Kernel : samples.Sdpa).Add(clock.Elapsed.TotalSeconds);
                        }
                        finally { Molmo.Model.Kernels.CpuSequenceAttention.Enabled = true; }
                    }
                return (Median(samples.Kernel), baseline ? Median(samples.Sdpa) : double.NaN);
            }
            void Vision()
            {
                var images = HostTransfer.ToDevice(inputs.Images!, device);   // queued as the model's prefill queues them
                var masks = HostTransfer.ToDevice(inputs.ImageMasks!, device);
                model.Model.VisionBackbone.Forward(images.dim() == 3 ? images : images.flatten(0, 1), masks.dim() == 2 ? masks : masks.flatten(0, 1));
            }
            void Decoder()
            {
                using var cache = model.NewCache(1, positions);
                using var text = zeros([1, positions], ScalarType.Int64);
                model.Forward(new ModelInputs(text), cache, new ForwardOptions { AllLogits = false }).Dispose();
            }
            void Whole()
            {
                using var cache = model.NewCache(1, positions);
                using var output = model.Prefill(inputs, cache);
                output.Logits.argmax(-1).cpu();
            }
            var (vision, visionSdpa) = Timed(Vision);
            var (decoder, decoderSdpa) = Timed(Decoder);
            var (whole, wholeSdpa) = Timed(Whole);
            string sdpa = baseline
                ? $"; with libtorch's SDPA for the attention instead of the kernel, alternating: {Duration(visionSdpa)} / {Duration(decoderSdpa)} / {Duration(wholeSdpa)}"
                : "";
            // The libtorch calls the host issues for it, as `steps` counts a decode step's.
            long created = StepBench.LibtorchCalls();
            using (NewDisposeScope())
            using (no_grad())
                Whole();
            long calls = StepBench.LibtorchCalls() - created;
            Console.Error.WriteLine($"640×480 prefill in parts: vision {Duration(vision)}, decoder over {positions} positions {Duration(decoder)}, whole {Duration(whole)}, {calls} libtorch calls{sdpa}");
            partsRow = $"| prefill 640×480 in parts (medians of {reps}, each to a device sync): vision encoder / decoder over {positions} positions without the image / whole prefill with the first token read back | " +
                       $"{Duration(vision)} / {Duration(decoder)} / {Duration(whole)} (the rest: {Duration(Math.Max(0, whole - vision - decoder))}; the whole prefill issues {calls:N0} libtorch calls{sdpa}) | – | – |";
        }
        double? libtorchTokS = null;
        if (a.Has("--compare-libtorch") && !cuda && !placement.Int8Decoder && !placement.Int4Decoder)
        {
            Linear.UseCpuKernels = false;
            try
            {
                using var scope = NewDisposeScope();
                var text = processor.Process(null, "Write a long story about a red fox.").ToModelInputs();
                libtorchTokS = DecodeRate(TokenTimes(model, text, special.Eos, Math.Max(8, decode / 4) + 1, cuda));
            }
            finally { Linear.UseCpuKernels = true; }
            Console.Error.WriteLine($"decode with libtorch linear: {libtorchTokS:F2} tok/s");
        }
        // CPU, --interleave R: R decodes of a text request, each between two bandwidth probes (R + 1 probes in all), each decode's
        // weight bandwidth against the better of the probes on either side of it. This VM's memory moves between ~40 and
        // ~90 GB/s from minute to minute, so a decode and a probe taken minutes apart (the table's other bandwidth row) may
        // have caught different states; these are seconds apart.
        string? interleaveRow = null;
        if (!cuda && a.Get("--interleave", null) is { } il)
        {
            int rounds = int.Parse(il, CultureInfo.InvariantCulture), tokens = Math.Max(8, decode / 4);
            using var scope = NewDisposeScope();
            var text = processor.Process(null, "Write a long story about a red fox.").ToModelInputs();
            static double Probe() => MemoryBandwidth.MeasureAllThreads(1L << 30, 3);
            var probes = new List<double> { Probe() };
            var read = new List<double>();
            var shares = new List<double>();
            // The decode steps' time in the GEMV kernel (CpuGemv.Streamed: weights streamed, and how long that took), so that
            // a shortfall against the probe shows as slow streaming or as time spent between the products.
            var inKernel = new List<double>();
            var kernelRead = new List<double>();
            for (int round = 0; round < rounds; round++)
            {
                var streamed = new List<(long Bytes, TimeSpan Time)>();
                var times = TokenTimes(model, text, special.Eos, tokens + 1, cuda, main, streamed: streamed);
                read.Add(DecodeRate(times) * decodeBytes);
                probes.Add(Probe());
                shares.Add(read[^1] / Math.Max(probes[^2], probes[^1]));
                double kernelSeconds = (streamed[^1].Time - streamed[0].Time).TotalSeconds;
                inKernel.Add(kernelSeconds / times.Skip(1).Sum());
                kernelRead.Add((streamed[^1].Bytes - streamed[0].Bytes) / Math.Max(kernelSeconds, 1e-9));
                Console.Error.WriteLine($"interleaved round {round + 1}: decode {read[^1] / 1e9:F1} GB/s between probes of {probes[^2] / 1e9:F1} and {probes[^1] / 1e9:F1} GB/s: {100 * shares[^1]:F0} %; " +
                                        $"{100 * inKernel[^1]:F0} % of the steps in the GEMV kernel, which read {kernelRead[^1] / 1e9:F1} GB/s there ({100 * kernelRead[^1] / Math.Max(probes[^2], probes[^1]):F0} %)");
            }
            interleaveRow = $"| decode weight bandwidth, each of {rounds} decodes ({tokens} tokens of a text request) against the better of the probes just before and after it | " +
                            $"median **{100 * Median(shares):F0} %** ({100 * shares.Min():F0}–{100 * shares.Max():F0} %); the decodes read {read.Min() / 1e9:F1}–{read.Max() / 1e9:F1} GB/s, " +
                            $"spending {100 * inKernel.Min():F0}–{100 * inKernel.Max():F0} % of their steps in the GEMV kernel, which read {kernelRead.Min() / 1e9:F1}–{kernelRead.Max() / 1e9:F1} GB/s there | – | " +
                            $"probes ({Environment.ProcessorCount} threads, 1 GiB): {string.Join(", ", probes.Select(p => (p / 1e9).ToString("F1", CultureInfo.InvariantCulture)))} GB/s |";
        }
        // Batched decoding of independent requests of different lengths: aggregate decode tokens/s. --batch: text requests;
        // --batch-images: every request with its own image (sizes vary, so prompt lengths do too), prefilled one by one.
        var batchRows = new List<string>();
        // widened-slices, dequantise-first and bf16-weights change only prefill's products (a batch's steps stay in the
        // decode kernel): no batch rounds for them.
        var batchOthers = others.Where(o => !o.WidenedSlices && !o.DequantiseFirst && !o.Bf16Weights).ToList();
        bool batchCompare = batchOthers.Count > 0;
        var batches = Sizes("--batch").Select(n => (n, false)).Concat(Sizes("--batch-images").Select(n => (n, true)));
        foreach (var (bs, images) in batches)
        {
            using var scope = NewDisposeScope();
            var sizes = new[] { (640, 480), (480, 640), (320, 240), (800, 600), (512, 512) };
            var requests = Enumerable.Range(0, bs).Select(i => images
                ? processor.Process(ImageDecoder.Decode(PreprocessBench.SynthesisePng(sizes[i % sizes.Length].Item1, sizes[i % sizes.Length].Item2)),
                                    i % 2 == 0 ? "Describe this image." : "What is in the picture? Answer in detail.").ToModelInputs()
                : processor.Process(null, $"Request {i}: write a story about " + string.Join(" and ", Enumerable.Repeat("a red fox", 1 + i % 5)) + ".").ToModelInputs()).ToList();
            int steps = cuda ? decode : Math.Max(8, decode / 4);   // a GPU step takes milliseconds: as many as batch 1 decodes
            double BatchRate(DecodeMode? mode)
            {
                int produced = 0;
                var clock = Stopwatch.StartNew();
                double prefillDone = 0;
                using (KernelRoutes(mode))
                    new BatchGenerator(model, special.Eos) { Pipelined = mode?.Pipelined, Steps = mode?.Steps ?? DecodeSteps.Auto }.Generate(requests, new GenerationOptions { MaxNewTokens = steps + 1, StopOnEos = false },
                        (_, _) => { if (++produced == bs) { if (cuda) torch.cuda.synchronize(); prefillDone = clock.Elapsed.TotalSeconds; } });
                if (cuda) torch.cuda.synchronize();
                return (produced - bs) / (clock.Elapsed.TotalSeconds - prefillDone);
            }
            var rates = new List<double>();
            var otherRates = batchOthers.Select(_ => new List<double>()).ToList();
            for (int round = 0; round < (batchCompare ? Rounds : 1); round++)
            {
                rates.Add(BatchRate(main));
                for (int o = 0; o < batchOthers.Count; o++) otherRates[o].Add(BatchRate(batchOthers[o]));
            }
            double tokS = Median(rates);
            string kind = images ? $"independent image requests of {requests.Min(r => r.InputIds.shape[1])}–{requests.Max(r => r.InputIds.shape[1])} tokens" : "independent text requests";
            Console.Error.WriteLine($"batch {bs}{(images ? " (images)" : "")}: {tokS:F2} tok/s aggregate decode" +
                                    string.Concat(batchOthers.Select((o, i) => $" ({o.Name}: {Median(otherRates[i]):F2})")));
            string spread = batchCompare ? $", median of {Rounds}: {Spread(rates)}" : "";
            batchRows.Add($"| decode, batch {bs} ({kind}, {steps} steps) | {tokS:F2} tok/s aggregate ({tokS / bs:F2} per request{spread}) | – | – |");
            for (int o = 0; o < batchOthers.Count; o++)
                batchRows.Add($"| decode, batch {bs}, {batchOthers[o].Name} (`--compare`, same rounds) | {Median(otherRates[o]):F2} tok/s aggregate (median of {Rounds}: {Spread(otherRates[o])}) | – | – |");
        }

        // Whole requests as `eval run` answers them (preprocess, prefill, a short answer): one at a time through AskAsync, then
        // --ask-batch N at a time through AskBatchAsync (what `eval run --batch N` uses). Same answers, requests per second.
        if (a.Get("--ask-batch", null) is { } ab)
        {
            int nb = int.Parse(ab, CultureInfo.InvariantCulture), count = 2 * nb, answerTokens = 16;
            // No prefix cache: the batched pass would otherwise continue from the prompts the one-at-a-time pass stored.
            var pipeline = new MolmoPipeline(model, tokenizer, prefixCacheBytes: 0);
            var sizes = new[] { (320, 240), (480, 360), (240, 320), (400, 300) };
            var asks = Enumerable.Range(0, count).Select(i => new AskRequest
            {
                Image = ImageDecoder.Decode(PreprocessBench.SynthesisePng(sizes[i % sizes.Length].Item1, sizes[i % sizes.Length].Item2)),
                Prompt = $"vqa2: What is in the picture, number {i}?",
                Generation = new GenerationOptions { MaxNewTokens = answerTokens, StopOnEos = false },
            }).ToList();
            var clock = Stopwatch.StartNew();
            var alone = new List<string>();
            foreach (var r in asks) alone.Add(pipeline.AskAsync(r).GetAwaiter().GetResult().Text);
            if (cuda) torch.cuda.synchronize();
            double oneS = clock.Elapsed.TotalSeconds;
            clock.Restart();
            var together = pipeline.AskBatchAsync(asks, nb).GetAwaiter().GetResult();
            if (cuda) torch.cuda.synchronize();
            double batchS = clock.Elapsed.TotalSeconds;
            var differ = alone.Zip(together).Where(p => p.First != p.Second.Text).ToList();
            foreach (var (x, y) in differ) Console.Error.WriteLine($"  one at a time: {x}\n  batched:       {y.Text}");
            Console.Error.WriteLine($"{count} image requests ({answerTokens} tokens each): one at a time {oneS:F1} s, {nb} at a time {batchS:F1} s; same answers: {count - differ.Count} of {count}");
            batchRows.Add($"| {count} image requests of {together.Min(t => t.Stats.PromptTokens)}–{together.Max(t => t.Stats.PromptTokens)} tokens, {answerTokens}-token answers (as `eval run`) | " +
                          $"{nb} at a time (`AskBatchAsync`): {count / batchS:F2} requests/s; one at a time (`AskAsync`): {count / oneS:F2} requests/s; same answers: {(differ.Count == 0 ? "yes" : $"{count - differ.Count} of {count}")} | – | – |");
        }

        long peak = ModelLoader.PeakRssBytes();
        if (cuda) gpuPeak = Math.Max(gpuPeak, GpuMemory.UsedBytes() ?? 0);
        double achieved = decodeTokS!.Value * decodeBytes;
        double bwAfter1 = 0, bwAfterAll = 0, gpuBw = 0;
        if (!cuda)
        {
            (bwAfter1, bwAfterAll) = MemoryBandwidth.Measure(2L << 30, 5);
            Console.Error.WriteLine($"DRAM bandwidth before {bwAll / 1e9:F1} GB/s, after {bwAfterAll / 1e9:F1} GB/s");
        }
        else gpuBw = MemoryBandwidth.MeasureDevice(device);
        double limitBw = cuda ? gpuBw : Math.Max(bwAll, bwAfterAll);

        var sb = new StringBuilder();
        bool graphs = (main?.Steps ?? DecodeSteps.Auto).On(device) == DecodeSteps.CudaGraph || others.Any(o => o.Steps.On(device) == DecodeSteps.CudaGraph);
        if (graphs && CudaGraph.LastFallbackReason is { } noGraph)
        {
            sb.AppendLine($"**CUDA graphs were not used** (the graph rows ran eager steps): {noGraph}");
            sb.AppendLine();
        }
        string dev = cuda ? $"cuda ({torch.cuda.device_count()} GPU)" : $"cpu, {Environment.ProcessorCount} logical CPUs, {TorchRuntime.CpuThreads} kernel threads, {torch.get_num_threads()} libtorch threads, large tensors in {MemoryBandwidth.HugePagesNote()}";
        sb.AppendLine($"Architecture **{arch}** ({cfg.DecoderStyle}, {model.ParameterCount / 1e9:F2} B params, {weightBytes / 1e9:F2} GB in {TorchRuntime.PlacementName(placement)}), random weights, {dev}.");
        sb.AppendLine();
        sb.AppendLine($"CPU: {MachineInfo.Cpu()}.");
        sb.AppendLine();
        sb.AppendLine("| measure | this engine | reference Python (same machine kind) | limit |");
        sb.AppendLine("|---|---|---|---|");
        bool refRow = arch == "7b-d";
        string R(double cpu, double gpu, string unit) => !refRow ? "–" : cuda ? $"{gpu} {unit} (H200)" : $"{cpu} {unit}";
        // The reference's prefill: 640×480 on this CPU kind and on an H200; 1920×1080 on the H200 only.
        string PrefillReference(string size) => !refRow ? "–" : cuda
            ? $"{(size == "640×480" ? RefGpuPrefill640Ms : RefGpuPrefill1080Ms)} ms (H200)"
            : size == "640×480" ? $"{RefCpuPrefill640S} s" : "–";
        sb.AppendLine($"| load time | {loadS:F1} s | – | – |");
        sb.AppendLine($"| peak RSS | {peak / 1e9:F1} GB (after load {rssAfterLoad / 1e9:F1} GB, before {rssBefore / 1e9:F2} GB) | {(refRow && !cuda ? $"{RefCpuPeakRssGB} GB" : "–")} | weights {weightBytes / 1e9:F1} GB |");
        if (cuda)
            sb.AppendLine($"| GPU memory in use, peak of samples (incl. the caching allocator) | {(gpuPeak > 0 ? $"{gpuPeak / 1e9:F1} GB" : "not readable (no libcudart)")} | – | weights {weightBytes / 1e9:F1} GB |");
        foreach (var r in rows)
        {
            sb.AppendLine($"| prefill {r[0]} ({r[1]} tokens, {r[2]} crops; preprocess {r[3]}) | {r[4]} | " +
                          PrefillReference(r[0]) + " | – |");
            if (coldPrefill.TryGetValue(r[0], out var cold))
                sb.AppendLine($"| prefill {r[0]}, the first time its length is seen (cold: SDPA's per-shape set-up, stack notes §8.1) | {Duration(cold)} | – | – |");
        }
        if (cuda && (placement.Int8Decoder || placement.Int4Decoder))
        {
            int gpu = Math.Max(0, (int)device.index);
            string q = TorchRuntime.PlacementName(placement);
            string? unavailable = placement.Int4Decoder ? Molmo.Runtime.CudaQuantGemv.Int4Unavailable(gpu) : Molmo.Runtime.CudaQuantGemv.Unavailable(gpu);
            long launches = placement.Int4Decoder ? Molmo.Runtime.CudaQuantGemv.Int4Launches : Molmo.Runtime.CudaQuantGemv.Launches;
            string route = unavailable is { } why ? $"dequantised for cuBLAS: the {q} kernel is not used ({why})"
                : launches == 0 ? $"dequantised for cuBLAS: the {q} kernel was never launched"
                : $"the {q} kernel ({launches:N0} launches issued, self-checks included; a graph's replays are not counted), up to {Molmo.Runtime.CudaQuantGemv.MaxRows} rows (larger batches: dequantised for cuBLAS)";
            sb.AppendLine($"| {q} products of decode steps | {route} | – | – |");
        }
        if (cuda)
            sb.AppendLine($"| decode steps replayed as CUDA graphs | {model.DecodeContexts.GraphsRecorded} graphs recorded (one per batch size and cache bucket in use){(CudaGraph.LastFallbackReason is { } fb ? $"; fell back to eager steps: {fb}" : "")} | – | – |");
        if (bucketRow is not null) sb.AppendLine(bucketRow);
        if (prefixRow is not null) sb.AppendLine(prefixRow);
        if (partsRow is not null) sb.AppendLine(partsRow);
        sb.AppendLine($"| decode, batch 1, {decode} tokens{(main is null ? "" : $", {main.Name}")}{(decodeRounds ? $" (median of {Rounds} rounds)" : "")} | {decodeTokS:F2} tok/s | {R(RefCpuDecodeTokS, RefGpuDecodeTokS, "tok/s")} | " +
                      $"{limitBw / decodeBytes:F2} tok/s at {limitBw / 1e9:F1} GB/s |");
        foreach (var row in comparedRows) sb.AppendLine(row);
        if (libtorchTokS is { } lt)
            sb.AppendLine($"| decode, batch 1, libtorch `linear` instead of the GEMV kernel (same run) | {lt:F2} tok/s ({lt * decodeBytes / 1e9:F1} GB/s) | – | – |");
        foreach (var r in batchRows) sb.AppendLine(r);
        if (interleaveRow is not null) sb.AppendLine(interleaveRow);
        if (!cuda)
            sb.AppendLine($"| decode weight bandwidth ({decodeBytes / 1e9:F2} GB/token) | {achieved / 1e9:F1} GB/s = {100 * achieved / limitBw:F0} % of measured | – | DRAM read, {Environment.ProcessorCount} threads: {bwAll / 1e9:F1} GB/s before loading, {bwAfterAll / 1e9:F1} GB/s after decoding (1 thread: {bw1 / 1e9:F1} / {bwAfter1 / 1e9:F1}) |");
        else
            sb.AppendLine($"| decode weight bandwidth ({decodeBytes / 1e9:F2} GB/token) | {achieved / 1e9:F1} GB/s = {100 * achieved / limitBw:F0} % of measured | – | device memory read {gpuBw / 1e9:F0} GB/s (torch sum over 2 GiB) |");
        var table = sb.ToString();
        Console.WriteLine(table);
        if (a.Get("--append", null) is { } file)
        {
            var md = new StringBuilder();
            md.AppendLine();
            md.AppendLine($"### model {arch} {TorchRuntime.PlacementName(placement)} {deviceName}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
            md.AppendLine();
            md.AppendLine($"`dotnet run -c Release --project bench/Molmo.Bench -- model {string.Join(' ', args)}`");
            md.AppendLine();
            md.Append(table);
            File.AppendAllText(file, md.ToString());
        }
        return 0;
    }
}

/// <summary>Minimal "--key value" / "--flag" argument reader for the benchmarks.</summary>
internal sealed class Args
{
    readonly Dictionary<string, string?> _v = new();
    public static Args Parse(string[] args)
    {
        var a = new Args();
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected argument '{args[i]}'");
            bool hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
            a._v[args[i]] = hasValue ? args[++i] : null;
        }
        return a;
    }
    public bool Has(string k) => _v.ContainsKey(k);
    public string? Get(string k, string? fallback) => _v.TryGetValue(k, out var v) && v != null ? v : fallback;
}
