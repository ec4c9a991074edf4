using System.Diagnostics;
using System.Globalization;
using static TorchSharp.torch;

namespace Molmo.Bench;

/// <summary>
/// One decode step's attention for 7B-D's head layout (28 query heads over 4 KV heads of 128) against a KV cache holding L
/// positions (the engine's <c>DecoderBlock.DecodeAttention</c>), per layer and × 28 layers, in bf16 and float32. Usage:
/// <c>attention [--reps 200]</c>.
/// </summary>
public static class AttentionBench
{
    public static int Run(string[] args)
    {
        var a = Args.Parse(args);
        int reps = int.Parse(a.Get("--reps", "200")!, CultureInfo.InvariantCulture);
        const int H = 28, KV = 4, hd = 128;
        Console.WriteLine($"CPU: {MachineInfo.Cpu()}");
        foreach (var dt in new[] { ScalarType.BFloat16, ScalarType.Float32 })
            foreach (int len in new[] { 32, 256, 800, 1300 })
            {
                using var scope = NewDisposeScope();
                var kc = randn(1, KV, 2048, hd).to(dt);
                var vc = randn(1, KV, 2048, hd).to(dt);
                var q = randn(1, H, 1, hd).to(dt);
                Tensor Step()
                {
                    using var s = NewDisposeScope();
                    return Molmo.Model.DecoderBlock.DecodeAttention(q, kc.narrow(2, 0, len), vc.narrow(2, 0, len), null).MoveToOuterDisposeScope();
                }
                double us = Time(Step, reps);
                Console.WriteLine($"{dt} L={len}: {us:F0} µs per layer, × 28 = {us * 28 / 1000:F1} ms per step");
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
