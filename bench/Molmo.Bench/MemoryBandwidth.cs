using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Runtime.InteropServices;

namespace Molmo.Bench;

/// <summary>DRAM read bandwidth of this machine: a vectorised sum over a buffer far larger than the caches, 1 thread and all threads.</summary>
public static class MemoryBandwidth
{
    public static int Run(string[] args)
    {
        Console.WriteLine($"CPU: {MachineInfo.Cpu()}");
        // Rounds alternate the two buffers: the machine's memory state moves from minute to minute.
        for (int round = 0; round < 2; round++)
        {
            var (one, all) = Measure();
            var (one4k, all4k) = Measure(2L << 30, 5, oneThread: true, pages4k: true);
            Console.WriteLine($"DRAM read bandwidth, libtorch's allocator ({HugePagesNote()}): {one / 1e9:F1} GB/s (1 thread), {all / 1e9:F1} GB/s ({Environment.ProcessorCount} threads); " +
                              $"4 KB pages (NativeMemory): {one4k / 1e9:F1} / {all4k / 1e9:F1} GB/s");
        }
        return 0;
    }

    /// <summary>Whether libtorch's large allocations (the weights', this probe's) are in transparent huge pages.</summary>
    public static string HugePagesNote() =>
        Environment.GetEnvironmentVariable("THP_MEM_ALLOC_ENABLE") == "1" ? "2 MB transparent huge pages" : "4 KB pages";

    /// <summary>Best of several passes over 2 GiB, in bytes/s.</summary>
    public static (double OneThread, double AllThreads) Measure(long bytes = 2L << 30, int passes = 5) => Measure(bytes, passes, oneThread: true);

    /// <summary>Best of several passes with every thread, in bytes/s (a quicker probe to take between other measurements).</summary>
    public static double MeasureAllThreads(long bytes, int passes) => Measure(bytes, passes, oneThread: false).AllThreads;

    /// <summary>
    /// The buffer comes from libtorch's allocator, as the weights do, so it lies in the same kind of pages: 2 MB transparent
    /// huge pages where the engine asks libtorch for them (<c>THP_MEM_ALLOC_ENABLE=1</c>, TorchRuntime), which streaming
    /// readers read faster. <paramref name="pages4k"/>: a buffer of 4 KB pages instead (NativeMemory), for comparison.
    /// </summary>
    static unsafe (double OneThread, double AllThreads) Measure(long bytes, int passes, bool oneThread, bool pages4k = false)
    {
        using var tensor = pages4k ? null : TorchSharp.torch.empty(bytes, TorchSharp.torch.ScalarType.Byte);
        var mem = pages4k ? (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64) : (byte*)Molmo.Checkpoints.NativeTensor.DataPointer(tensor!);
        try
        {
            for (long o = 0; o < bytes; o += 1 << 30) new Span<byte>(mem + o, (int)Math.Min(1L << 30, bytes - o)).Fill(1);
            double Best(int threads)
            {
                double best = 0;
                for (int p = 0; p < passes; p++)
                {
                    // Dedicated threads started together (a Parallel.For of two parts often runs both on one core).
                    long chunk = bytes / threads;
                    using var start = new Barrier(threads + 1);
                    var ts = Enumerable.Range(0, threads).Select(t => new Thread(() => { start.SignalAndWait(); Sum(mem + t * chunk, chunk); })).ToList();
                    ts.ForEach(th => th.Start());
                    start.SignalAndWait();
                    var sw = Stopwatch.StartNew();
                    ts.ForEach(th => th.Join());
                    best = Math.Max(best, bytes / sw.Elapsed.TotalSeconds);
                }
                return best;
            }
            return (oneThread ? Best(1) : 0, Best(Environment.ProcessorCount));
        }
        finally { if (pages4k) NativeMemory.AlignedFree(mem); }
    }

    /// <summary>GPU memory read bandwidth: best of five sums over a 2 GiB bf16 tensor on the device, in bytes/s.</summary>
    public static double MeasureDevice(TorchSharp.torch.Device device)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        var t = TorchSharp.torch.ones(1L << 30, TorchSharp.torch.ScalarType.BFloat16, device);
        double best = 0;
        for (int i = 0; i < 6; i++)
        {
            TorchSharp.torch.cuda.synchronize();
            var sw = Stopwatch.StartNew();
            using var s = t.sum(TorchSharp.torch.ScalarType.Float32);
            TorchSharp.torch.cuda.synchronize();
            if (i > 0) best = Math.Max(best, (2L << 30) / sw.Elapsed.TotalSeconds);
        }
        return best;
    }

    /// <summary>
    /// Reads n bytes with 64-byte loads into eight independent accumulators (as many loads in flight as the core allows), the
    /// same access pattern as the decode kernels: the figure is what a streaming reader can get, not a library memcpy.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    static unsafe ulong Sum(byte* p, long n)
    {
        Vector512<ulong> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        long i = 0;
        for (; i + 512 <= n; i += 512)
        {
            a0 += Vector512.Load((ulong*)(p + i));
            a1 += Vector512.Load((ulong*)(p + i + 64));
            a2 += Vector512.Load((ulong*)(p + i + 128));
            a3 += Vector512.Load((ulong*)(p + i + 192));
            a4 += Vector512.Load((ulong*)(p + i + 256));
            a5 += Vector512.Load((ulong*)(p + i + 320));
            a6 += Vector512.Load((ulong*)(p + i + 384));
            a7 += Vector512.Load((ulong*)(p + i + 448));
        }
        ulong s = Vector512.Sum(((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)));
        for (; i < n; i++) s += p[i];
        return s;
    }
}
