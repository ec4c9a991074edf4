using System.Diagnostics;
using System.Globalization;
using Molmo.Model;
using static TorchSharp.torch;

namespace Molmo.Bench;

/// <summary>
/// RoPE over one layer's q and k of a 7B-D prompt ([1, S, 32 heads, 128] bf16) by its two routes: widening to float32 first
/// (what the CPU runs) and multiplying bf16 by the float32 tables directly (one op fewer, what a GPU runs). Same bits either
/// way; on the CPU libtorch's mixed-dtype elementwise ops take a scalar path. Usage: <c>rope [--tokens 749] [--reps 40]</c>.
/// </summary>
public static class RopeBench
{
    public static int Run(string[] args)
    {
        var a = Args.Parse(args);
        int tokens = int.Parse(a.Get("--tokens", "749")!, CultureInfo.InvariantCulture);
        int reps = int.Parse(a.Get("--reps", "40")!, CultureInfo.InvariantCulture);
        using var noGrad = no_grad();
        using var rope = new RotaryEmbedding(128, 4096, 1e6, CPU);
        var (cos, sin) = rope.Slice(0, tokens);
        var x = randn(1, tokens, 32, 128).to(ScalarType.BFloat16);
        double Ms(bool widenFirst)
        {
            for (int i = 0; i < 5; i++) RotaryEmbedding.Apply(x, cos, sin, widenFirst).Dispose();
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < reps; i++) RotaryEmbedding.Apply(x, cos, sin, widenFirst).Dispose();
            return sw.Elapsed.TotalMilliseconds / reps;
        }
        Console.WriteLine($"CPU: {MachineInfo.Cpu()}");
        Console.WriteLine();
        Console.WriteLine($"| RoPE, [1, {tokens}, 32, 128] bf16, one layer | widen first (CPU route) | bf16 × float32 tables (GPU route) |");
        Console.WriteLine("|---|---|---|");
        Console.WriteLine($"| ms | {Ms(true):F2} | {Ms(false):F2} |");
        return 0;
    }
}
