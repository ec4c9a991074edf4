using Molmo.Model;
using static TorchSharp.torch;

namespace Molmo.Generation;

/// <summary>
/// KV caches with their fixed-shape decode steps (and the CUDA graph recorded for them), kept between the requests of one
/// model. A graph is bound to the buffers it was recorded with, so without this every request recorded its own: two warm-up
/// steps and the recording of ~1,000 ops, paid before its second token. A request of the same number of rows and a capacity
/// in the same bucket (<see cref="CapacityStep"/>) now takes over an idle context: it prefills into that cache, points the
/// steps at its own rows, and replays the graph already there. At most <see cref="MaxIdle"/> contexts wait idle, holding at
/// most <see cref="MaxIdleBytes"/> of KV cache between them; the least recently used goes first. Used for
/// <see cref="DecodeSteps.FixedShape"/> and <see cref="DecodeSteps.CudaGraph"/> only (on a GPU by default).
/// </summary>
public sealed class DecodeContexts : IDisposable
{
    /// <summary>Capacities are rounded up to a multiple of this, so requests of similar lengths share a context (fixed-shape
    /// attention reads the whole capacity, masked: at most this many positions more).</summary>
    public const int CapacityStep = 256;

    /// <summary>Idle contexts kept at most.</summary>
    public const int MaxIdle = 4;

    /// <summary>The default of <see cref="MaxIdleBytes"/>: 2 GiB (7B-D in bf16: two idle batches of 16 rows at 1,024 positions,
    /// or one request's context of 4,096 positions several times over).</summary>
    public const long DefaultMaxIdleBytes = 2L << 30;

    /// <summary>The most KV cache the idle contexts may hold between them on the model's device; the least recently used go
    /// first when it would be passed (a context larger than this is freed when its request ends).</summary>
    public long MaxIdleBytes
    {
        get => Interlocked.Read(ref _maxIdleBytes);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            Interlocked.Exchange(ref _maxIdleBytes, value);
            lock (_lock) Evict();
        }
    }
    long _maxIdleBytes = DefaultMaxIdleBytes;

    /// <summary>Bytes of KV cache the idle contexts hold now.</summary>
    public long IdleBytes { get { lock (_lock) return _idle.Sum(c => c.Cache.Bytes); } }

    /// <summary>One KV cache and the fixed-shape steps made for it (null until the first request that decodes with them).</summary>
    internal sealed class Context(DecodeContexts owner, KvCache cache, DecodeSteps mode) : IDisposable
    {
        public KvCache Cache { get; } = cache;
        public DecodeSteps Mode { get; } = mode;
        /// <summary>The route of int8 products when this context was made (<see cref="Runtime.CudaQuantGemv.Route"/>, per-thread
        /// switches of tests and benchmarks): a graph records the route in force, so a context serves only requests made under
        /// the same one.</summary>
        public Runtime.Int8Route Int8Route { get; } = Runtime.CudaQuantGemv.Route;
        public FixedShapeDecoder? Steps { get; set; }
        /// <summary>Set when fixed-shape steps could not be had (no CUDA graph here, say): later requests go on eagerly at
        /// once instead of trying again.</summary>
        public bool StepsUnavailable { get; set; }
        public long LastUse { get; set; }

        /// <summary>The fixed-shape steps for rows starting from <paramref name="firstIds"/> at <paramref name="positions"/>:
        /// made (and for CUDA graphs recorded) by the first request, restarted for later ones; null where they cannot be had
        /// (decoding then goes on eagerly, the reason printed once).</summary>
        public FixedShapeDecoder? StepsFor(MolmoForCausalLM model, Tensor firstIds, int[] positions, bool[] advance)
        {
            if (StepsUnavailable) return null;
            if (Steps is { } steps)
            {
                steps.Restart(firstIds, positions, advance);
                return steps;
            }
            Steps = FixedShapeDecoder.Create(Mode, model, Cache, firstIds, positions, advance);
            StepsUnavailable = Steps is null;
            if (Steps is { IsGraph: true }) Interlocked.Increment(ref owner._graphs);
            return Steps;
        }

        public void Dispose()
        {
            Steps?.Dispose();
            Cache.Dispose();
        }
    }

    readonly List<Context> _idle = [];
    readonly object _lock = new();
    long _clock, _created, _reused, _graphs;
    bool _disposed;

    /// <summary>Contexts made so far (each with its own cache and, on a GPU, its own recorded graph).</summary>
    public long Created => Interlocked.Read(ref _created);

    /// <summary>CUDA graphs recorded so far (one per context that decoded with <see cref="DecodeSteps.CudaGraph"/>; none
    /// where graphs could not be had).</summary>
    public long GraphsRecorded => Interlocked.Read(ref _graphs);

    /// <summary>Requests that took over an idle context.</summary>
    public long Reused => Interlocked.Read(ref _reused);

    /// <summary>Contexts waiting idle now.</summary>
    public int Idle { get { lock (_lock) return _idle.Count; } }

    /// <summary>The bucket of a capacity: rounded up to <see cref="CapacityStep"/>, at most <paramref name="maxPositions"/>.</summary>
    public static int Bucket(int capacity, int maxPositions) =>
        Math.Min(maxPositions, (capacity + CapacityStep - 1) / CapacityStep * CapacityStep);

    /// <summary>An idle context of <paramref name="rows"/> rows and <paramref name="capacity"/>'s bucket for
    /// <paramref name="mode"/>, its rows emptied, or a new one. Give it back with <see cref="Return"/>.</summary>
    internal Context Rent(MolmoForCausalLM model, DecodeSteps mode, int rows, int capacity)
    {
        int bucket = Bucket(capacity, model.Config.MaxPositionEmbeddings);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var route = Runtime.CudaQuantGemv.Route;
            var idle = _idle.Where(c => c.Mode == mode && c.Cache.Batch == rows && c.Cache.Capacity == bucket && c.Int8Route == route)
                            .MaxBy(c => c.LastUse);
            if (idle is not null)
            {
                _idle.Remove(idle);
                for (int r = 0; r < rows; r++) idle.Cache.SetRowLength(r, 0);   // what it holds lies beyond every row: masked
                _reused++;
                return idle;
            }
        }
        Interlocked.Increment(ref _created);
        return new Context(this, model.NewCache(rows, bucket), mode);
    }

    /// <summary>Takes a context back for later requests (after the work queued on it: the next request's is queued after).</summary>
    internal void Return(Context context)
    {
        lock (_lock)
        {
            if (_disposed) { context.Dispose(); return; }
            context.LastUse = ++_clock;
            _idle.Add(context);
            Evict();
        }
    }

    /// <summary>Frees the least recently used idle contexts while they pass either bound (under the lock).</summary>
    void Evict()
    {
        long bytes = _idle.Sum(c => c.Cache.Bytes), max = Interlocked.Read(ref _maxIdleBytes);
        while (_idle.Count > MaxIdle || _idle.Count > 0 && bytes > max)
        {
            var oldest = _idle.MinBy(c => c.LastUse)!;
            _idle.Remove(oldest);
            bytes -= oldest.Cache.Bytes;
            oldest.Dispose();
        }
    }

    /// <summary>Frees every idle context (their KV caches and graphs).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            foreach (var c in _idle) c.Dispose();
            _idle.Clear();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            Clear();
            _disposed = true;
        }
    }
}
