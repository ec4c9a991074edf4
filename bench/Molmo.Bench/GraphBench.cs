using System.Diagnostics;
using System.Globalization;
using Molmo.Runtime;
using static TorchSharp.torch;

namespace Molmo.Bench;

/// <summary>
/// CUDA graphs on this machine, before the model uses them: whether the shim builds and loads (its reason if not), whether a
/// recorded chain of ops replays with the right result, and the host's time per op issued one by one against the same chain
/// replayed as one graph. Usage: <c>graphs [--device cuda] [--ops 200]</c>.
/// </summary>
public static class GraphBench
{
    public static int Run(string[] args)
    {
        var a = Args.Parse(args);
        var device = TorchRuntime.ParseDevice(a.Get("--device", "cuda")!);
        int ops = int.Parse(a.Get("--ops", "200")!, CultureInfo.InvariantCulture);
        var sw = Stopwatch.StartNew();
        string? why = CudaGraph.Unavailable(device);
        Console.WriteLine(why is null ? $"CUDA graph shim ready ({sw.Elapsed.TotalSeconds:F1} s, including a first build)" : $"CUDA graphs unavailable: {why}");
        if (why is not null) return 0;

        using var noGrad = no_grad();
        using var x = zeros([1, 112], ScalarType.Float32, device);
        using var y = ones([1, 112], ScalarType.Float32, device);
        // A chain of small in-place ops, as a decode step is: each adds 1, so the result counts the chain's runs.
        void Chain() { for (int i = 0; i < ops; i++) x.add_(y, Scalars.One); }
        using var graph = CudaGraph.Record(device, Chain, warmups: 1);   // one warm-up run: x = ops
        for (int i = 0; i < 3; i++) graph.Replay();
        cuda.synchronize();
        float got = x[0, 0].item<float>(), want = 4f * ops;   // exact: float32 counts integers far beyond these
        Console.WriteLine($"recorded {ops} ops, replayed 3 times: {(got == want ? "correct" : $"WRONG: {got}, expected {want}")}");
        if (got != want) return 1;

        const int Reps = 50;
        for (int i = 0; i < 5; i++) Chain();
        cuda.synchronize();
        sw.Restart();
        for (int i = 0; i < Reps; i++) Chain();
        cuda.synchronize();
        double eager = sw.Elapsed.TotalMilliseconds * 1000 / (Reps * ops);
        sw.Restart();
        for (int i = 0; i < Reps; i++) graph.Replay();
        cuda.synchronize();
        double replay = sw.Elapsed.TotalMilliseconds * 1000 / (Reps * ops);
        Console.WriteLine();
        Console.WriteLine($"| {ops} small ops ({device}) | µs per op, wall |");
        Console.WriteLine("|---|---|");
        Console.WriteLine($"| issued one by one from C# | {eager:F2} |");
        Console.WriteLine($"| replayed as one CUDA graph | {replay:F2} |");
        return 0;
    }
}
