using System.Diagnostics;
using System.Globalization;
using Molmo.Model;
using Molmo.Model.Kernels;
using static TorchSharp.torch;

namespace Molmo.Bench;

/// <summary>
/// Decode-shaped matrix–vector products with 7B-D's matrices (1 or more input rows): libtorch's <c>linear</c> in fp32/bf16
/// against the engine's streaming kernels (fp32, bf16, int8, int4; int8 also with the earlier float products as the baseline; with one input row, int8 also without its single-row prefetch, bf16 with AVX2 also one row at a time widened (with AVX-512 without its prefetch); with several, bf16 also as before it read bf16 x and prefetched across its blocks, and on AVX2 CPUs int8 and int4 also row by row, as before their AVX2 blocks), as achieved weight bandwidth. Usage: <c>gemv [--rows 1] [--reps 20] [--gemv-threads N] [--matrix att_proj|ff_proj|ff_out|lm_head|vit_wq|vit_w1|vit_w2] [--copies N]</c>.
/// </summary>
public static class GemvBench
{
    public static int Run(string[] args)
    {
        var a = Args.Parse(args);
        if (a.Get("--gemv-threads", null) is { } gt) CpuGemv.MaxThreads = int.Parse(gt, CultureInfo.InvariantCulture);
        int m = int.Parse(a.Get("--rows", "1")!, CultureInfo.InvariantCulture);
        int reps = int.Parse(a.Get("--reps", "20")!, CultureInfo.InvariantCulture);
        var shapes = Matrices(a, lmHead: true);
        Console.WriteLine($"CPU: {MachineInfo.Cpu()}");
        Console.WriteLine();
        // One input row: the int8 kernel also without its software prefetch of single rows (CpuGemv.NoRowPrefetch), in
        // alternating repetitions with the default; the bf16 kernel with AVX2 also with its rows one at a time, each widened
        // against float32 x, as before single rows took the batched blocks' arithmetic (CpuGemv.Bf16RowsWidened; ff_out's
        // rows go four at a time either way), with AVX-512 without its software prefetch.
        // Several rows: the bf16 kernel also as it was before it read bf16 x itself (x converted by libtorch to float32 and
        // split into even and odd elements, the output converted back: CpuGemv.LibtorchConversions) and before its four-row
        // blocks prefetched into the next block (CpuGemv.PrefetchWithinRows), in alternating repetitions. The bf16 kernel
        // gets bf16 x, as a bf16 model passes it.
        // Several rows on an AVX2 CPU: int8 and int4 also row by row, as before their AVX2 blocks (CpuGemv.IntBatchesRowByRow),
        // in alternating repetitions.
        bool prefetch = m == 1, rowByRow = m > 1 && !System.Runtime.Intrinsics.X86.Avx512BW.IsSupported;
        string Baseline(string kernel) => prefetch ? $" {kernel} kernel, no row prefetch |" : rowByRow ? $" {kernel} kernel row by row (before) |" : "";
        bool widened = prefetch && CpuGemv.BatchInvariant;
        string bf16Baseline = widened ? " bf16 kernel, rows one at a time widened (before) |" : prefetch ? Baseline("bf16") : " bf16 kernel before (x and output converted by libtorch, prefetch within rows) |";
        Console.WriteLine($"| matrix [N, K] | fp32 linear | fp32 kernel | bf16 linear | bf16 kernel |{bf16Baseline} int8 kernel |{Baseline("int8")} int8, float products (before) | int4 kernel (GB/s; ms) |{(rowByRow ? Baseline("int4") : "")}   ({m} input row(s), GB/s of weights read (int4: with its scales), median of {reps})");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|" + (prefetch ? "---|" : rowByRow ? "---|---|" : ""));
        foreach (var (name, n, k) in shapes)
        {
            using var scope = NewDisposeScope();
            // Enough copies of each matrix to exceed the 32 MB L3 cache, cycled, so every product streams from DRAM.
            // (--copies N instead: e.g. 1, so that a matrix that fits stays in L3 and the kernels' arithmetic is what is timed.)
            int copies = a.Get("--copies", null) is { } cp ? int.Parse(cp, CultureInfo.InvariantCulture) : (int)Math.Max(1, Math.Ceiling(160e6 / (1.0 * n * k)));
            var w32 = Enumerable.Range(0, copies).Select(_ => randn(n, k)).ToArray();
            var wbf = w32.Select(w => w.to(ScalarType.BFloat16)).ToArray();
            var q8 = w32.Select(Int8Quantizer.Quantize).ToArray();
            var q4 = w32.Select(Int4Quantizer.Quantize).ToArray();
            var x = randn(m, k);
            var xb = x.to(ScalarType.BFloat16);
            int c = 0;
            string Gb(Func<int, Tensor> f, long bytes) => $"{bytes / Median(() => f(c++ % copies), reps) / 1e9:F1}";
            var r32 = Gb(i => nn.functional.linear(x, w32[i]), 4L * n * k);
            var rk32 = CpuGemv.SupportsFloat32 ? Gb(i => CpuGemv.LinearFp32(x, w32[i], null), 4L * n * k) : "–";
            foreach (var w in w32) w.Dispose();
            var rbf = Gb(i => nn.functional.linear(xb, wbf[i]), 2L * n * k);
            string rk, r8, rkNo, r8No = "";
            if (prefetch)
            {
                (rk, rkNo) = Alternating(() => CpuGemv.LinearBf16(xb, wbf[c++ % copies], null), 2L * n * k, reps,
                                         on => { if (widened) CpuGemv.Bf16RowsWidened = on; else CpuGemv.NoRowPrefetch = on; });
                (r8, r8No) = Alternating(() => CpuGemv.LinearInt8(x, q8[c % copies].Q, q8[c++ % copies].Scale, null), 1L * n * k, reps, on => CpuGemv.NoRowPrefetch = on);
            }
            else
            {
                (rk, rkNo) = Alternating(() => CpuGemv.LinearBf16(xb, wbf[c++ % copies], null), 2L * n * k, reps, on => CpuGemv.LibtorchConversions = CpuGemv.PrefetchWithinRows = on);
                if (rowByRow) (r8, r8No) = Alternating(() => CpuGemv.LinearInt8(x, q8[c % copies].Q, q8[c++ % copies].Scale, null), 1L * n * k, reps, on => CpuGemv.IntBatchesRowByRow = on);
                else r8 = Gb(i => CpuGemv.LinearInt8(x, q8[i].Q, q8[i].Scale, null), 1L * n * k);
            }
            CpuGemv.Int8FloatProducts = true;
            string r8f;
            try { r8f = Gb(i => CpuGemv.LinearInt8(x, q8[i].Q, q8[i].Scale, null), 1L * n * k); }
            finally { CpuGemv.Int8FloatProducts = false; }
            long int4Bytes = n * (long)k / 2 + 4L * n * (k / Int4Quantizer.GroupSize(k));
            string r4 = "–", r4No = "–";
            if (CpuGemv.SupportsInt4 && rowByRow)
            {
                var (engine, before) = AlternatingSeconds(() => CpuGemv.LinearInt4(x, q4[c % copies].Packed, q4[c++ % copies].Scale, null), reps, on => CpuGemv.IntBatchesRowByRow = on);
                r4 = $"{int4Bytes / engine / 1e9:F1}; {engine * 1e3:F2}";
                r4No = $"{int4Bytes / before / 1e9:F1}; {before * 1e3:F2}";
            }
            else if (CpuGemv.SupportsInt4)
            {
                double int4Seconds = Median(() => CpuGemv.LinearInt4(x, q4[c % copies].Packed, q4[c++ % copies].Scale, null), reps);
                r4 = $"{int4Bytes / int4Seconds / 1e9:F1}; {int4Seconds * 1e3:F2}";
            }
            Console.WriteLine($"| {name} [{n}, {k}] | {r32} | {rk32} | {rbf} | {rk} | {rkNo} | {r8} |{(prefetch || rowByRow ? $" {r8No} |" : "")} {r8f} | {r4} |{(rowByRow ? $" {r4No} |" : "")}");
        }
        return 0;
    }

    /// <summary>7B-D's decoder matrices (with or without the LM head), or the one <c>--matrix</c> names.</summary>
    internal static (string Name, int N, int K)[] Matrices(Args a, bool lmHead) =>
        new (string Name, int N, int K)[]
        {
            ("att_proj", 4608, 3584), ("ff_proj", 37888, 3584), ("ff_out", 3584, 18944), ("lm_head", 152064, 3584),
            // The ViT's (ViT-L/14 at 336 px; --matrix vit_… only): each of wq, wk, wv and wo, and the MLP's w1 and w2.
            ("vit_wq", 1024, 1024), ("vit_w1", 4096, 1024), ("vit_w2", 1024, 4096),
        }
        .Where(x => a.Get("--matrix", null) is { } only ? x.Name == only : (lmHead || x.Name != "lm_head") && !x.Name.StartsWith("vit_", StringComparison.Ordinal))
        .ToArray();

    /// <summary>GB/s of <paramref name="f"/> as the engine runs it and with a baseline switched on (<paramref name="baseline"/>,
    /// a per-thread switch of CpuGemv), alternating rep by rep (medians), so that both see the same state of this VM's memory.</summary>
    static (string Engine, string Baseline) Alternating(Func<Tensor> f, long bytes, int reps, Action<bool> baseline)
    {
        var (on, off) = AlternatingSeconds(f, reps, baseline);
        return ($"{bytes / on / 1e9:F1}", $"{bytes / off / 1e9:F1}");
    }

    /// <summary>The median seconds of <paramref name="f"/> as the engine runs it and with the baseline switched on, alternating
    /// rep by rep (see <see cref="Alternating"/>).</summary>
    internal static (double Engine, double Baseline) AlternatingSeconds(Func<Tensor> f, int reps, Action<bool> baseline)
    {
        var on = new List<double>();
        var off = new List<double>();
        for (int i = 0; i < reps + 2; i++)
            foreach (bool before in new[] { false, true })
            {
                baseline(before);
                try
                {
                    var sw = Stopwatch.StartNew();
                    f().Dispose();
                    if (i >= 2) (before ? off : on).Add(sw.Elapsed.TotalSeconds);   // the first two rounds warm up
                }
                finally { baseline(false); }
            }
        static double MedianOf(List<double> t) => t.Order().ElementAt(t.Count / 2);
        return (MedianOf(on), MedianOf(off));
    }

    static double Median(Func<Tensor> f, int reps) => Median(() => f().Dispose(), reps);

    /// <summary>Seconds of <paramref name="work"/>: the median of <paramref name="reps"/> runs after <paramref name="warmups"/>
    /// to warm up, or of as many as have run (one at least) once <paramref name="budget"/> seconds have gone since the start.</summary>
    internal static double Median(Action work, int reps, int warmups = 3, double budget = double.PositiveInfinity)
    {
        var total = Stopwatch.StartNew();
        for (int i = 0; i < warmups; i++) work();
        var t = new List<double>();
        while (t.Count < reps && (t.Count == 0 || total.Elapsed.TotalSeconds < budget))
        {
            var sw = Stopwatch.StartNew();
            work();
            t.Add(sw.Elapsed.TotalSeconds);
        }
        t.Sort();
        return t[t.Count / 2];
    }
}
