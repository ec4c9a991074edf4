using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Molmo.Bench;

/// <summary>
/// The arithmetic ceiling of this machine, as <see cref="MemoryBandwidth"/> is its memory ceiling: float32 FMAs (what
/// prefill's GEMMs and bf16 products are made of) and 16-bit multiply-adds (<c>vpmaddwd</c>, the int8 and int4 kernels'
/// products), per second with one thread and with every thread at once. Each thread runs 8 independent chains of 256-bit
/// vectors (enough to cover the instructions' latency on two pipes), so the figure is throughput. On a shared VM two vCPUs
/// need not add up to two cores: a compute-bound kernel is held to what "all threads" prints. Usage: <c>compute [--seconds 2]</c>.
/// </summary>
public static class ComputeProbe
{
    public static int Run(string[] args)
    {
        var a = Args.Parse(args);
        double seconds = double.Parse(a.Get("--seconds", "2")!, System.Globalization.CultureInfo.InvariantCulture);
        Console.WriteLine($"CPU: {MachineInfo.Cpu()}");
        if (!(Avx2.IsSupported && Fma.IsSupported))
        {
            Console.WriteLine("compute: this probe needs AVX2 and FMA");
            return 2;
        }
        int threads = Environment.ProcessorCount;
        Console.WriteLine();
        Console.WriteLine($"| instruction (256-bit) | 1 thread | {threads} threads at once | {threads} threads ÷ 1 thread |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var (name, flopsPer, body) in new (string, int, Func<long, float>)[] { ("FMA, float32", 16, Fmas), ("vpmaddwd, 16-bit", 32, MultiplyAdds) })
        {
            double one = Rate(body, 1, seconds), all = Rate(body, threads, seconds);
            string unit = flopsPer == 16 ? "GFLOP/s" : "G integer ops/s";
            Console.WriteLine($"| {name} | {one / 1e9:F2} G/s = {one * flopsPer / 1e9:F0} {unit} | {all / 1e9:F2} G/s = {all * flopsPer / 1e9:F0} {unit} | {all / one:F2} |");
        }
        return 0;
    }

    /// <summary>Instructions per second of <paramref name="body"/> on <paramref name="threads"/> threads started together: the
    /// best of three passes, <paramref name="seconds"/> in all.</summary>
    static double Rate(Func<long, float> body, int threads, double seconds)
    {
        body(1 << 20);   // compiled and warm
        // Iterations for the pass length from a short timed run on one thread.
        var sw = Stopwatch.StartNew();
        body(10_000_000);
        long iterations = Math.Max(1_000_000, (long)(10_000_000 * seconds / 3 / sw.Elapsed.TotalSeconds));
        double best = 0;
        for (int pass = 0; pass < 3; pass++)
        {
            using var start = new Barrier(threads + 1);
            var results = new float[threads];   // kept, so that the loops' work is used
            var ts = Enumerable.Range(0, threads).Select(t => new Thread(() => { start.SignalAndWait(); results[t] = body(iterations); })).ToList();
            ts.ForEach(th => th.Start());
            start.SignalAndWait();
            sw.Restart();
            ts.ForEach(th => th.Join());
            best = Math.Max(best, 8.0 * iterations * threads / sw.Elapsed.TotalSeconds);
        }
        return best;
    }

    /// <summary>8 independent chains of float32 FMAs, 8 instructions an iteration.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static float Fmas(long iterations)
    {
        var a0 = Vector256.Create(1f); var a1 = a0; var a2 = a0; var a3 = a0; var a4 = a0; var a5 = a0; var a6 = a0; var a7 = a0;
        var m = Vector256.Create(0.999999f);
        var c = Vector256.Create(1e-7f);
        for (long i = 0; i < iterations; i++)
        {
            a0 = Fma.MultiplyAdd(a0, m, c); a1 = Fma.MultiplyAdd(a1, m, c); a2 = Fma.MultiplyAdd(a2, m, c); a3 = Fma.MultiplyAdd(a3, m, c);
            a4 = Fma.MultiplyAdd(a4, m, c); a5 = Fma.MultiplyAdd(a5, m, c); a6 = Fma.MultiplyAdd(a6, m, c); a7 = Fma.MultiplyAdd(a7, m, c);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7);
    }

    /// <summary>8 independent chains of <c>vpmaddwd</c> (16 16-bit products into 8 32-bit sums), 8 instructions an iteration.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static float MultiplyAdds(long iterations)
    {
        var a0 = Vector256.Create((short)1); var a1 = a0; var a2 = a0; var a3 = a0; var a4 = a0; var a5 = a0; var a6 = a0; var a7 = a0;
        var s = Vector256.Create((short)3);
        for (long i = 0; i < iterations; i++)
        {
            a0 = Avx2.MultiplyAddAdjacent(a0, s).AsInt16(); a1 = Avx2.MultiplyAddAdjacent(a1, s).AsInt16();
            a2 = Avx2.MultiplyAddAdjacent(a2, s).AsInt16(); a3 = Avx2.MultiplyAddAdjacent(a3, s).AsInt16();
            a4 = Avx2.MultiplyAddAdjacent(a4, s).AsInt16(); a5 = Avx2.MultiplyAddAdjacent(a5, s).AsInt16();
            a6 = Avx2.MultiplyAddAdjacent(a6, s).AsInt16(); a7 = Avx2.MultiplyAddAdjacent(a7, s).AsInt16();
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7);
    }
}
