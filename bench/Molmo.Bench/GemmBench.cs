using System.Globalization;
using Molmo.Model;
using Molmo.Model.Kernels;
using static TorchSharp.torch;

namespace Molmo.Bench;

/// <summary>
/// Prefill- and batch-shaped products of 7B-D's bf16 matrices (16 to 749 input rows): libtorch's bf16 <c>linear</c> (the
/// baseline; on a CPU without AVX-512 a loop of dot products), the engine's route (<see cref="Float32Gemm"/>: with AVX2 and
/// FMA the packed GEMM, <see cref="CpuGemm"/>), the route before the packed GEMM (the weights widened to float32 a slice at a
/// time for libtorch's float32 GEMM, <see cref="Float32Gemm.WidenedSlices"/>), libtorch's float32 <c>linear</c> over weights
/// already in float32 (before the packed GEMM took float32 weights on CPUs without AVX-512), the packed GEMM over them, and,
/// up to the kernels' rows, the engine's bf16 decode kernel. ms a product and GFLOP/s; each figure
/// the median of up to <c>--reps</c> runs within about <c>--seconds</c> (one run at least).
/// With <c>--quantised int8|int4</c>, quantised weights instead: the engine's integer products
/// (<see cref="CpuGemm.ProductInt16{TX, TW}"/>) against the weights read as bf16(q · scale) into the float32 packed GEMM
/// (<see cref="Float32Gemm.QuantisedAsBf16Weights"/>, before), alternating rep by rep.
/// Usage: <c>gemm [--rows 16,64,256,749] [--reps 5] [--seconds 20] [--matrix att_proj|ff_proj|ff_out|vit_wq|vit_w1|vit_w2] [--quantised int8|int4]</c>.
/// </summary>
public static class GemmBench
{
    public static int Run(string[] args)
    {
        var a = Args.Parse(args);
        var rowCounts = a.Get("--rows", "16,64,256,749")!.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        int reps = int.Parse(a.Get("--reps", "5")!, CultureInfo.InvariantCulture);
        double budget = double.Parse(a.Get("--seconds", "20")!, CultureInfo.InvariantCulture);
        var shapes = GemvBench.Matrices(a, lmHead: false);
        Console.WriteLine($"CPU: {MachineInfo.Cpu()}");
        if (a.Get("--quantised", null) is { } kind) return Quantised(kind, shapes, rowCounts, reps);
        Console.WriteLine($"libtorch's bf16 GEMM in oneDNN here: {(Float32Gemm.LibTorchBf16GemmIsFast ? "yes" : "no")}; the engine widens prefill's bf16 products to float32: {(Float32Gemm.Enabled ? "yes" : "no")}");
        Console.WriteLine();
        string engine = CpuGemm.IsSupported ? "packed GEMM, bf16 widened while packing (engine)" : "bf16 widened to float32 GEMM (engine)";
        Console.WriteLine($"| matrix [N, K] | rows | bf16 linear (libtorch) | {engine} | widened slices, libtorch's float32 GEMM (before) | float32 linear, float32 weights | packed GEMM, float32 weights | bf16 decode kernel |   (ms a product (GFLOP/s), median of up to {reps})");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        bool enabled = Float32Gemm.Enabled;
        Float32Gemm.WidenedSlices = false;
        try
        {
            foreach (var (name, n, k) in shapes)
            {
                using var scope = NewDisposeScope();
                var w32 = randn(n, k);
                var wbf = w32.to(ScalarType.BFloat16);
                foreach (int m in rowCounts)
                {
                    using var inner = NewDisposeScope();
                    var xb = randn(m, k).to(ScalarType.BFloat16);
                    var x32 = xb.to(ScalarType.Float32);
                    double flop = 2.0 * m * n * k;
                    string Cell(double s) => $"{s * 1e3:F1} ({flop / s / 1e9:F1})";
                    Float32Gemm.Enabled = false;
                    var baseline = Cell(Median(() => nn.functional.linear(xb, wbf), reps, budget));
                    var route = Cell(Median(() => Float32Gemm.Linear(xb, wbf, null), reps, budget));
                    string slices = "–";
                    if (CpuGemm.IsSupported)
                    {
                        Float32Gemm.WidenedSlices = true;
                        try { slices = Cell(Median(() => Float32Gemm.Linear(xb, wbf, null), reps, budget)); }
                        finally { Float32Gemm.WidenedSlices = false; }
                    }
                    var fp32 = Cell(Median(() => nn.functional.linear(x32, w32), reps, budget));
                    var packed32 = CpuGemm.IsSupported ? Cell(Median(() => Float32Gemm.Linear(x32, w32, null), reps, budget)) : "–";
                    var kernel = m <= CpuGemv.MaxRows && CpuGemv.IsSupported ? Cell(Median(() => CpuGemv.LinearBf16(xb, wbf, null), reps, budget)) : "–";
                    Console.WriteLine($"| {name} [{n}, {k}] | {m} | {baseline} | {route} | {slices} | {fp32} | {packed32} | {kernel} |");
                }
            }
        }
        finally { Float32Gemm.Enabled = enabled; }
        return 0;
    }

    /// <summary>int8 or int4 weights, bf16 x: integer products against bf16 weights through the float32 GEMM, alternating.</summary>
    static int Quantised(string kind, (string Name, int N, int K)[] shapes, int[] rowCounts, int reps)
    {
        if (kind is not ("int8" or "int4")) throw new ArgumentException($"--quantised takes int8 or int4, not '{kind}'");
        bool int4 = kind == "int4";
        if (!CpuGemm.IsSupported) { Console.WriteLine($"no AVX2 and FMA here: {kind} prefill dequantises for libtorch"); return 0; }
        Console.WriteLine();
        Console.WriteLine($"| matrix [N, K] | rows | {kind}, integer products (engine) | {kind} read as bf16(q · scale), float32 packed GEMM (before) | speed-up |   (ms a product (GFLOP/s), medians of {reps}, alternating)");
        Console.WriteLine("|---|---|---|---|---|");
        bool enabled = Float32Gemm.Enabled;
        Float32Gemm.Enabled = true;
        try
        {
            foreach (var (name, n, k) in shapes)
            {
                using var scope = NewDisposeScope();
                var (q, s) = int4 ? Int4Quantizer.Quantize(randn(n, k)) : Int8Quantizer.Quantize(randn(n, k));
                foreach (int m in rowCounts)
                {
                    using var inner = NewDisposeScope();
                    var xb = randn(m, k).to(ScalarType.BFloat16);
                    double flop = 2.0 * m * n * k;
                    var (engine, before) = GemvBench.AlternatingSeconds(() => (int4 ? Float32Gemm.LinearInt4(xb, q, s, null) : Float32Gemm.LinearInt8(xb, q, s, null))!,
                                                                        reps, on => Float32Gemm.QuantisedAsBf16Weights = on);
                    string Cell(double t) => $"{t * 1e3:F1} ({flop / t / 1e9:F1})";
                    Console.WriteLine($"| {name} [{n}, {k}] | {m} | {Cell(engine)} | {Cell(before)} | {before / engine:F2}× |");
                }
            }
        }
        finally { Float32Gemm.Enabled = enabled; }
        return 0;
    }

    /// <summary>Median seconds of <paramref name="f"/> over up to <paramref name="reps"/> runs after one to warm up, stopping
    /// once <paramref name="budget"/> seconds have gone (the baseline's larger products take tens of seconds on an AVX2 CPU).</summary>
    static double Median(Func<Tensor> f, int reps, double budget) => GemvBench.Median(() => f().Dispose(), reps, warmups: 1, budget);
}
