using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Molmo.Bench;

/// <summary>DRAM read bandwidth of this machine: a vectorised sum over a buffer far larger than the caches, 1 thread and all threads.</summary>
public static class MemoryBandwidth
{
    public static int Run(string[] args)
    {
        var (one, all) = Measure();
        Console.WriteLine($"DRAM read bandwidth: {one / 1e9:F1} GB/s (1 thread), {all / 1e9:F1} GB/s ({Environment.ProcessorCount} threads)");
        return 0;
    }

    /// <summary>Best of several passes over 2 GiB, in bytes/s.</summary>
    public static unsafe (double OneThread, double AllThreads) Measure(long bytes = 2L << 30, int passes = 5)
    {
        var mem = (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        try
        {
            for (long o = 0; o < bytes; o += 1 << 30) new Span<byte>(mem + o, (int)Math.Min(1L << 30, bytes - o)).Fill(1);
            double Best(int threads)
            {
                double best = 0;
                for (int p = 0; p < passes; p++)
                {
                    var sw = Stopwatch.StartNew();
                    long chunk = bytes / threads;
                    Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t => Sum(mem + t * chunk, chunk));
                    best = Math.Max(best, bytes / sw.Elapsed.TotalSeconds);
                }
                return best;
            }
            return (Best(1), Best(Environment.ProcessorCount));
        }
        finally { NativeMemory.AlignedFree(mem); }
    }

    static unsafe ulong Sum(byte* p, long n)
    {
        var acc0 = Vector<ulong>.Zero; var acc1 = Vector<ulong>.Zero; var acc2 = Vector<ulong>.Zero; var acc3 = Vector<ulong>.Zero;
        int w = Vector<byte>.Count;
        long i = 0;
        for (; i + 4 * w <= n; i += 4 * w)
        {
            acc0 += *(Vector<ulong>*)(p + i);
            acc1 += *(Vector<ulong>*)(p + i + w);
            acc2 += *(Vector<ulong>*)(p + i + 2 * w);
            acc3 += *(Vector<ulong>*)(p + i + 3 * w);
        }
        return Vector.Sum(acc0 + acc1 + acc2 + acc3);
    }
}
