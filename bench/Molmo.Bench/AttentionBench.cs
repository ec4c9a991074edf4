using System.Diagnostics;
using System.Globalization;
using static TorchSharp.torch;

namespace Molmo.Bench;

/// <summary>
/// One decode step's attention for 7B-D's head layout (28 query heads over 4 KV heads of 128) against a KV cache holding L
/// positions (the engine's <c>DecoderBlock.DecodeAttention</c>), per layer and × 28 layers: libtorch's batched matmuls over a
/// float32 cache (the engine before its kernel) against the kernel over float32 and bf16 caches. Usage:
/// <c>attention [--reps 200] [--batch 1]</c> (a batch: that many sequences, each with L cached positions).
/// <c>attention --encoder [--reps 10]</c>: instead, one ViT layer's attention (16 heads of 64 over 577 positions, float32
/// arithmetic) for the crops of a 640×480 and a 1920×1080 prompt: libtorch's SDPA route against the engine's kernel.
/// </summary>
public static class AttentionBench
{
    public static int Run(string[] args)
    {
        var a = Args.Parse(args);
        if (a.Has("--encoder")) return Encoder(int.Parse(a.Get("--reps", "10")!, CultureInfo.InvariantCulture));
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

    /// <summary>
    /// The attention inside <c>MultiHeadDotProductAttention</c> for one ViT layer, from the projections' outputs q, k, v
    /// [crops, 577, 1024] to the attended values [crops, 577, 1024] in the model's dtype (before <c>wo</c>): libtorch's route
    /// (heads split, widened to float32, SDPA, narrowed and joined) against the kernel, alternating, with the largest
    /// difference between the two.
    /// </summary>
    static int Encoder(int reps)
    {
        const int heads = 16, hd = 64, len = 577, layers = 23;
        Console.WriteLine($"CPU: {MachineInfo.Cpu()}");
        Console.WriteLine();
        Console.WriteLine($"| crops (prompt) | dtype | libtorch SDPA route | kernel | speed-up | max difference |   (one layer, median of {reps}; × {layers} layers)");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var (crops, prompt) in new[] { (7, "640×480"), (13, "1920×1080") })
            foreach (var dtype in new[] { ScalarType.BFloat16, ScalarType.Float32 })
            {
                using var scope = NewDisposeScope();
                var q = randn(crops, len, heads * hd).to(dtype);
                var k = randn(crops, len, heads * hd).to(dtype);
                var v = randn(crops, len, heads * hd).to(dtype);
                Tensor Libtorch()
                {
                    using var s = NewDisposeScope();
                    Tensor Split(Tensor t) => t.view(crops, len, heads, hd).transpose(1, 2).to(ScalarType.Float32);
                    var o = nn.functional.scaled_dot_product_attention(Split(q), Split(k), Split(v));
                    return o.to(dtype).transpose(1, 2).reshape(crops, len, heads * hd).MoveToOuterDisposeScope();
                }
                Tensor Kernel()
                {
                    using var s = NewDisposeScope();
                    return Molmo.Model.Kernels.CpuEncoderAttention.Attend(q, k, v, heads).to(dtype).MoveToOuterDisposeScope();
                }
                double diff;
                using (var x = Libtorch()) using (var y = Kernel()) diff = (x.to(ScalarType.Float32) - y.to(ScalarType.Float32)).abs().max().item<float>();
                static double Once(Func<Tensor> f)
                {
                    var sw = Stopwatch.StartNew();
                    f().Dispose();
                    return sw.Elapsed.TotalMilliseconds;
                }
                Once(Libtorch); Once(Kernel);
                var (lib, ker) = (new List<double>(), new List<double>());
                for (int i = 0; i < reps; i++)
                {
                    lib.Add(Once(Libtorch));
                    ker.Add(Once(Kernel));
                }
                double l = Median(lib), kk = Median(ker);
                Console.WriteLine($"| {crops} ({prompt}) | {dtype} | {l:F1} ms, {l * layers / 1000:F2} s | {kk:F1} ms, {kk * layers / 1000:F2} s | {l / kk:F2}× | {diff:G3} |");
            }
        return 0;
    }

    static double Median(List<double> xs) { xs.Sort(); return xs[xs.Count / 2]; }

    static double Time(Func<Tensor> f, int reps)
    {
        for (int i = 0; i < 20; i++) f().Dispose();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < reps; i++) f().Dispose();
        return sw.Elapsed.TotalMilliseconds * 1000 / reps;
    }
}
