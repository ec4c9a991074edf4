using System.Diagnostics;
using System.Globalization;
using static TorchSharp.torch;

namespace Molmo.Bench;

/// <summary>
/// One decode step's attention for 7B-D's head layout (28 query heads over 4 KV heads of 128) against a KV cache holding L
/// positions (the engine's <c>DecoderBlock.DecodeAttention</c>), per layer and × 28 layers: libtorch's batched matmuls over a
/// float32 cache (the engine before its kernel) against the kernel over float32 and bf16 caches. Usage:
/// <c>attention [--reps 200] [--batch 1]</c> (a batch: that many sequences, each with L cached positions).
/// </summary>
public static class AttentionBench
{
    public static int Run(string[] args)
    {
        var a = Args.Parse(args);
        int reps = int.Parse(a.Get("--reps", "200")!, CultureInfo.InvariantCulture);
        int batch = int.Parse(a.Get("--batch", "1")!, CultureInfo.InvariantCulture);
        const int H = 28, KV = 4, hd = 128;
        Console.WriteLine($"CPU: {MachineInfo.Cpu()}");
        Console.WriteLine();
        Console.WriteLine($"| cached positions | libtorch, float32 cache (before) | kernel, float32 cache (fp32 models) | kernel, bf16 cache (bf16/int8 models) |   ({batch} sequence(s); µs per layer, ms per 28-layer step)");
        Console.WriteLine("|---|---|---|---|");
        foreach (int len in new[] { 32, 256, 800, 1300 })
        {
            string Cell(ScalarType cache, bool kernel)
            {
                using var scope = NewDisposeScope();
                var kc = randn(batch, KV, 2048, hd).to(cache);
                var vc = randn(batch, KV, 2048, hd).to(cache);
                var q = randn(batch, H, 1, hd).to(ScalarType.BFloat16);
                Molmo.Model.Linear.UseCpuKernels = kernel;
                try
                {
                    double us = Time(() =>
                    {
                        using var s = NewDisposeScope();
                        return Molmo.Model.DecoderBlock.DecodeAttention(q, kc.narrow(2, 0, len), vc.narrow(2, 0, len), null).MoveToOuterDisposeScope();
                    }, reps);
                    return $"{us:F0} µs, {us * 28 / 1000:F1} ms";
                }
                finally { Molmo.Model.Linear.UseCpuKernels = true; }
            }
            Console.WriteLine($"| {len} | {Cell(ScalarType.Float32, false)} | {Cell(ScalarType.Float32, true)} | {Cell(ScalarType.BFloat16, true)} |");
        }
        return 0;
    }

    static double Time(Func<Tensor> f, int reps)
    {
        for (int i = 0; i < 20; i++) f().Dispose();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < reps; i++) f().Dispose();
        return sw.Elapsed.TotalMilliseconds * 1000 / reps;
    }
}
