using System.Diagnostics;
using System.Globalization;
using static TorchSharp.torch;

namespace Molmo.Bench;

/// <summary>
/// One decode step's attention for 7B-D's head layout (28 query heads over 4 KV heads of 128) against a KV cache holding L
/// positions (the engine's <c>DecoderBlock.DecodeAttention</c>), per layer and × 28 layers: libtorch's batched matmuls over a
/// float32 cache (the engine before its kernel) against the kernel over float32 and bf16 caches. Usage:
/// <c>attention [--reps 200] [--batch 1]</c> (a batch: that many sequences, each with L cached positions).
/// <c>attention --sequence [--reps 10]</c>: instead, attention of whole sequences (a ViT layer's, a 7B-D decoder layer's
/// prefill): libtorch's route against the engine's kernel.
/// </summary>
public static class AttentionBench
{
    public static int Run(string[] args)
    {
        var a = Args.Parse(args);
        if (a.Has("--sequence")) return Sequence(int.Parse(a.Get("--reps", "10")!, CultureInfo.InvariantCulture));
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
    /// Attention of whole sequences, alternating libtorch's route with the kernel (<c>CpuSequenceAttention</c>), with the
    /// largest difference between the two: one ViT layer as <c>MultiHeadDotProductAttention</c> runs it (q, k, v
    /// [crops, 577, 1024] from the projections, 16 heads of 64; libtorch: heads split, widened to float32, SDPA, narrowed and
    /// joined) for the crops of a 640×480 and a 1920×1080 prompt, and one 7B-D decoder layer's prefill as
    /// <c>DecoderBlock</c> runs it over a bf16 KV cache (28 query heads over 4 KV heads of 128, causal; libtorch: widened
    /// to float32, K/V repeated for each query head, causal SDPA, joined) for those prompts' 749 and 1205 positions.
    /// </summary>
    static int Sequence(int reps)
    {
        Console.WriteLine($"CPU: {MachineInfo.Cpu()}");
        Console.WriteLine();
        Console.WriteLine($"| attention | dtype | libtorch's route | kernel | speed-up | max difference |   (one layer, median of {reps}; × the model's layers)");
        Console.WriteLine("|---|---|---|---|---|---|");
        static double Once(Func<Tensor> f)
        {
            var sw = Stopwatch.StartNew();
            f().Dispose();
            return sw.Elapsed.TotalMilliseconds;
        }
        void Row(string what, ScalarType dtype, int layers, Func<Tensor> libtorch, Func<Tensor> kernel)
        {
            double diff;
            using (var x = libtorch()) using (var y = kernel()) diff = (x.to(ScalarType.Float32) - y.to(ScalarType.Float32)).abs().max().item<float>();
            Once(libtorch); Once(kernel);
            var (lib, ker) = (new List<double>(), new List<double>());
            for (int i = 0; i < reps; i++)
            {
                lib.Add(Once(libtorch));
                ker.Add(Once(kernel));
            }
            double l = Median(lib), kk = Median(ker);
            Console.WriteLine($"| {what} | {dtype} | {l:F1} ms, {l * layers / 1000:F2} s | {kk:F1} ms, {kk * layers / 1000:F2} s | {l / kk:F2}× | {diff:G3} |");
        }
        foreach (var (crops, prompt) in new[] { (7, "640×480"), (13, "1920×1080") })
            foreach (var dtype in new[] { ScalarType.BFloat16, ScalarType.Float32 })
            {
                const int heads = 16, hd = 64, len = 577;
                using var scope = NewDisposeScope();
                var q = randn(crops, len, heads * hd).to(dtype);
                var k = randn(crops, len, heads * hd).to(dtype);
                var v = randn(crops, len, heads * hd).to(dtype);
                Tensor Split(Tensor t) => t.view(crops, len, heads, hd).transpose(1, 2);
                Row($"ViT, {crops} crops ({prompt}), × 23 layers", dtype, 23,
                    () =>
                    {
                        using var s = NewDisposeScope();
                        var o = nn.functional.scaled_dot_product_attention(Split(q).to(ScalarType.Float32), Split(k).to(ScalarType.Float32), Split(v).to(ScalarType.Float32));
                        return o.to(dtype).transpose(1, 2).reshape(crops, len, heads * hd).MoveToOuterDisposeScope();
                    },
                    () =>
                    {
                        using var s = NewDisposeScope();
                        return Molmo.Model.Kernels.CpuSequenceAttention.Attend(Split(q), Split(k), Split(v), causal: false).to(dtype).MoveToOuterDisposeScope();
                    });
            }
        foreach (var (positions, prompt) in new[] { (749, "640×480"), (1205, "1920×1080") })
        {
            const int heads = 28, kvHeads = 4, hd = 128;
            using var scope = NewDisposeScope();
            // q as the decoder's heads split from its projection (a view), k and v as views of a bf16 cache with room to spare.
            var q = randn(1, positions, heads + kvHeads, hd).to(ScalarType.BFloat16).narrow(2, 0, heads).transpose(1, 2);
            var k = randn(1, kvHeads, positions + 300, hd).to(ScalarType.BFloat16).narrow(2, 0, positions);
            var v = randn(1, kvHeads, positions + 300, hd).to(ScalarType.BFloat16).narrow(2, 0, positions);
            Row($"7B-D decoder prefill, {positions} positions ({prompt}), × 28 layers", ScalarType.BFloat16, 28,
                () =>
                {
                    using var s = NewDisposeScope();
                    var kr = k.to(ScalarType.Float32).repeat_interleave(heads / kvHeads, 1);
                    var vr = v.to(ScalarType.Float32).repeat_interleave(heads / kvHeads, 1);
                    var o = nn.functional.scaled_dot_product_attention(q.to(ScalarType.Float32), kr, vr, is_casual: true);
                    return o.transpose(1, 2).reshape(1, positions, heads * hd).MoveToOuterDisposeScope();
                },
                () => Molmo.Model.Kernels.CpuSequenceAttention.Attend(q, k, v, causal: true));
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
