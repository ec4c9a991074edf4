using System.Globalization;
using Molmo.Model;
using static TorchSharp.torch;

namespace Molmo.Bench;

/// <summary>
/// Prefill's dequantisation: an int8 or int4 model's prefill turns each decoder matrix back into bf16 for libtorch's GEMM
/// (<c>Int8Quantizer.DequantizeBf16</c>, <c>Int4Quantizer.DequantizeBf16</c>), into the buffer it keeps for that. Per 7B-D
/// matrix: the engine's one-pass dequantisers against libtorch's tensor expressions for the same values, in ms, and the
/// total over 7B-D's 28 layers (what one prefill spends on it). Usage: <c>dequantise [--reps 5]</c>.
/// </summary>
public static class DequantBench
{
    public static int Run(string[] args)
    {
        var a = Args.Parse(args);
        int reps = int.Parse(a.Get("--reps", "5")!, CultureInfo.InvariantCulture);
        Console.WriteLine($"CPU: {MachineInfo.Cpu()}");
        Console.WriteLine();
        Console.WriteLine($"| matrix [N, K] | int8: engine | int8: libtorch (q.to(bf16) · s) | int4: engine | int4: libtorch (Int4Quantizer.Dequantize) |   (ms per matrix into a bf16 buffer, median of {reps})");
        Console.WriteLine("|---|---|---|---|---|");
        var shapes = new (string Name, int N, int K)[] { ("att_proj", 4608, 3584), ("attn_out", 3584, 3584), ("ff_proj", 37888, 3584), ("ff_out", 3584, 18944) };
        double e8 = 0, l8 = 0, e4 = 0, l4 = 0;
        foreach (var (name, n, k) in shapes)
        {
            using var scope = NewDisposeScope();
            var w = randn(n, k);
            var (q8, s8) = Int8Quantizer.Quantize(w);
            var (q4, s4) = Int4Quantizer.Quantize(w);
            w.Dispose();
            var into = empty([n, k], ScalarType.BFloat16);
            var sb = s8.to(ScalarType.BFloat16).unsqueeze(1);
            double t8 = Median(() => Int8Quantizer.DequantizeBf16(q8, s8, into), reps);
            double b8 = Median(() => into.copy_(q8.to(ScalarType.BFloat16).mul_(sb)), reps);
            double t4 = Median(() => Int4Quantizer.DequantizeBf16(q4, s4, into), reps);
            double b4 = Median(() => into.copy_(Int4Quantizer.Dequantize(q4, s4, ScalarType.BFloat16)), reps);
            e8 += t8; l8 += b8; e4 += t4; l4 += b4;
            Console.WriteLine($"| {name} [{n}, {k}] | {t8 * 1e3:F1} | {b8 * 1e3:F1} | {t4 * 1e3:F1} | {b4 * 1e3:F1} |");
        }
        Console.WriteLine($"| one layer | {e8 * 1e3:F1} | {l8 * 1e3:F1} | {e4 * 1e3:F1} | {l4 * 1e3:F1} |");
        Console.WriteLine($"| 28 layers (one 7B-D prefill) | {e8 * 28:F2} s | {l8 * 28:F2} s | {e4 * 28:F2} s | {l4 * 28:F2} s |");
        return 0;
    }

    /// <summary>Seconds of <paramref name="f"/> (median), whose temporaries go with a scope of each run's own (its result is
    /// the kept buffer: not disposed).</summary>
    static double Median(Func<Tensor> f, int reps) => GemvBench.Median(() => { using var scope = NewDisposeScope(); f(); }, reps);
}
