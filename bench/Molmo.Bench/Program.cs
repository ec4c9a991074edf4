namespace Molmo.Bench;

/// <summary>
/// Benchmarks: `dotnet run -c Release --project bench/Molmo.Bench -- NAME [args]`. Each benchmark prints its figures next to the
/// reference/baseline and, with --append FILE, appends a Markdown table with the exact command line to that file.
/// </summary>
public static class Program
{
    // Each benchmark lives in its own file and registers here: name -> (description, entry point).
    static readonly Dictionary<string, (string Description, Func<string[], int> Run)> Benchmarks = new()
    {
        ["model"] = ("load, RSS, prefill and decode of a random-weight model (--arch tiny|1b|7b-d)", ModelBench.Run),
        ["make-weights"] = ("write random weights for `model` (run as a child process by it)", ModelBench.MakeWeights),
        ["gemv"] = ("decode-shaped matrix-vector products: libtorch vs the engine's bf16/int8 kernels, GB/s", GemvBench.Run),
        ["gemm"] = ("prefill- and batch-shaped bf16 products: libtorch's bf16 GEMM vs the engine's float32-widened route and kernel, ms", GemmBench.Run),
        ["dequantise"] = ("prefill's dequantisation of int8 and int4 matrices to bf16: the engine's one pass vs libtorch's expressions, ms", DequantBench.Run),
        ["sample"] = ("sampling a token from 152,064 logits (temperature, top-k, top-p): the engine's route vs libtorch's sort and multinomial, ms", SampleBench.Run),
        ["steps"] = ("the host's cost of issuing a 7B-D-structured decode step (libtorch calls, time): what bounds GPU decode", StepBench.Run),
        ["graphs"] = ("CUDA graphs here: the shim's build, a recorded chain's result, µs per op issued vs replayed", GraphBench.Run),
        ["rope"] = ("RoPE over one layer of a 7B-D prompt: widening to float32 first (CPU route) vs bf16 × float32 tables (GPU route)", RopeBench.Run),
        ["attention"] = ("one decode step's attention over a KV cache of 32–1300 positions, 7B-D heads (--sequence: a ViT layer's and a prefill's)", AttentionBench.Run),
        ["data-read"] = ("PixMo-Points reader and per-image grouping on a synthetic 500k-row file", DataReadBench.Run),
        ["load"] = ("loading a checkpoint into a CPU model: the engine's loader against the memory-mapped one it replaced", LoadBench.Run),
        ["bandwidth"] = ("DRAM read bandwidth, 1 thread and all threads", MemoryBandwidth.Run),
        ["compute"] = ("float32 FMA and 16-bit multiply-add throughput, 1 thread and all threads at once: the arithmetic ceiling", ComputeProbe.Run),
        ["preprocess"] = ("image decode + Molmo preprocessing, 640×480 and 1920×1080 PNG", PreprocessBench.Run),
        ["synthetic"] = ("synthetic data generators: images/s/core at 336 and 1024 px", SyntheticBench.Run),
    };

    public static int Main(string[] args)
    {
        if (args.Length == 0 || !Benchmarks.TryGetValue(args[0], out var b))
        {
            Console.WriteLine("usage: Molmo.Bench NAME [args]\n");
            foreach (var (name, (desc, _)) in Benchmarks) Console.WriteLine($"  {name,-14} {desc}");
            return args.Length == 0 ? 0 : 1;
        }
        try { return b.Run(args[1..]); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or IOException or FormatException or InvalidOperationException)
        {
            Console.Error.WriteLine($"{args[0]}: {e.Message}");
            return 2;
        }
    }
}
