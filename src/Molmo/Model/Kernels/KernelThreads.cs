namespace Molmo.Model.Kernels;

/// <summary>
/// A few dedicated threads for the decode kernels. <see cref="Parallel.For(int, int, Action{int})"/> hands the second half of
/// a product to a thread-pool worker only when one is free at that moment, so a 2-way split often ran on one core (the same
/// call measured 40 or 72 GB/s from run to run). Here part 0 runs on the caller and parts 1… on threads that are always there.
/// One split runs at a time; a caller that finds the threads busy (another thread's split, or its own, nested) runs all parts
/// itself.
/// </summary>
internal static class KernelThreads
{
    sealed class Worker
    {
        public readonly ManualResetEventSlim Go = new(false, spinCount: 2000);
        public int Part;
    }

    static int _busy;                 // 1 while a split runs (not a Monitor: that would let a nested call on the same thread in)
    static Worker[] _workers = [];
    static Action<int>? _job;
    static CountdownEvent? _done;
    static Exception? _error;

    /// <summary>Runs body(0) … body(parts − 1), in parallel where threads are available; rethrows the first failure.</summary>
    public static void Run(int parts, Action<int> body)
    {
        if (parts <= 1 || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            for (int p = 0; p < parts; p++) body(p);
            return;
        }
        try
        {
            EnsureWorkers(parts - 1);
            _job = body;
            _error = null;
            _done!.Reset(parts - 1);
            for (int p = 1; p < parts; p++) { _workers[p - 1].Part = p; _workers[p - 1].Go.Set(); }
            try { body(0); }
            finally { _done.Wait(); _job = null; }
            if (_error is not null) throw new AggregateException(_error);
        }
        finally { Volatile.Write(ref _busy, 0); }
    }

    /// <summary>
    /// Runs body(0) … body(count − 1) on up to <paramref name="threads"/> threads, each taking the next unclaimed item in turn
    /// (a slower core takes fewer items instead of holding up the rest).
    /// </summary>
    public static void ForEach(int count, int threads, Action<int> body) =>
        ForEach(count, threads, () => 0, (i, _) => body(i), _ => { });

    /// <summary>
    /// <see cref="ForEach(int, int, Action{int})"/> with state of each thread's own (scratch memory): made by
    /// <paramref name="init"/> before the thread's first item, passed to each of its items, and released by
    /// <paramref name="release"/> after its last, however the items end.
    /// </summary>
    public static void ForEach<TState>(int count, int threads, Func<TState> init, Action<int, TState> body, Action<TState> release)
    {
        int next = 0;
        Run(Math.Max(1, Math.Min(threads, count)), _ =>
        {
            var state = init();
            try
            {
                for (int i; (i = Interlocked.Increment(ref next) - 1) < count;) body(i, state);
            }
            finally { release(state); }
        });
    }

    /// <summary>Rows per work item of <see cref="ForEachRow"/>.</summary>
    const int RowsPerItem = 64;

    /// <summary>body(r) for every row r &lt; n, in items of 64 rows split over the kernel threads (<see cref="CpuGemv.MaxThreads"/>):
    /// the one-pass quantisers and dequantisers.</summary>
    public static void ForEachRow(long n, Action<long> body) =>
        ForEach((int)((n + RowsPerItem - 1) / RowsPerItem), CpuGemv.MaxThreads, item =>
        {
            for (long r = (long)item * RowsPerItem; r < Math.Min(n, (item + 1L) * RowsPerItem); r++) body(r);
        });

    static void EnsureWorkers(int count)
    {
        _done ??= new CountdownEvent(1);
        if (_workers.Length >= count) return;
        var grown = new Worker[count];
        Array.Copy(_workers, grown, _workers.Length);
        for (int i = _workers.Length; i < count; i++)
        {
            var w = grown[i] = new Worker();
            new Thread(() => Loop(w)) { IsBackground = true, Name = $"molmo-kernel-{i + 1}" }.Start();
        }
        _workers = grown;
    }

    static void Loop(Worker w)
    {
        while (true)
        {
            w.Go.Wait();
            w.Go.Reset();
            try { _job!(w.Part); }
            catch (Exception e) { _error ??= e; }
            finally { _done!.Signal(); }
        }
    }
}
