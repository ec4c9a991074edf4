using static TorchSharp.torch;

namespace Molmo.Model;

/// <summary>
/// Preallocated key/value cache: per layer K and V of shape [B, KV heads, capacity, head dim] holding post-RoPE keys.
/// A step writes its new rows in place (no concatenation) and attends over what each sequence has cached so far.
/// Sequences of a batch may have different lengths (batched decoding of independent requests): each row keeps its own
/// length, a decode step writes row b at position <c>RowLength(b)</c>, and attention masks each row's unused tail.
/// </summary>
public sealed class KvCache : IDisposable
{
    readonly Tensor[] _k, _v;
    readonly int[] _len;
    Tensor? _positions;   // RowLengths as a tensor, made once per step (every layer of a ragged step needs it)
    Tensor? _rows;        // 0…B−1, the row index of a ragged step's writes
    Tensor? _fixed;       // a fixed-shape step's positions [B] on the device (see UseFixedShape), or null

    public int Capacity { get; }
    public int Batch => _len.Length;
    /// <summary>Positions stored in the longest row (the next step's first position when all rows are equal).</summary>
    public int Length => _len.Max();
    /// <summary>True when all rows hold the same number of positions.</summary>
    public bool IsUniform => _len.All(l => l == _len[0]);
    public IReadOnlyList<int> RowLengths => _len;

    /// <summary>Bytes one position of one row takes, over every layer's keys and values.</summary>
    public long BytesPerPosition => _k.Concat(_v).Sum(t => t.shape[1] * t.shape[3] * t.ElementSize);

    /// <summary>Bytes the whole cache takes (every row's capacity).</summary>
    public long Bytes => BytesPerPosition * Batch * Capacity;

    /// <summary>Each row's next position as an int64 tensor [B] on <paramref name="device"/>, cached until the lengths change.</summary>
    public Tensor RowPositions(Device device)
    {
        if (_positions is null || !On(_positions, device))
        {
            _positions?.Dispose();
            // Queued without a device sync (pinned memory on CUDA): a step's upload must not wait for the step before it.
            _positions = Runtime.HostTransfer.Int64(_len.Select(l => (long)l).ToArray(), [_len.Length], device).DetachFromDisposeScope();
        }
        return _positions;
    }

    void LengthsChanged() { _positions?.Dispose(); _positions = null; }

    // TorchSharp's Device has no value equality (every tensor.device is a new object), so compare type and index (a device
    // named without an index, "cuda", is the current one).
    static bool On(Tensor t, Device device) => t.device_type == device.type && (device.index < 0 || t.device_index == device.index);

    public KvCache(int layers, int batch, int kvHeads, int capacity, int headDim, ScalarType dtype, Device device)
    {
        Capacity = capacity;
        _len = new int[batch];
        _k = new Tensor[layers]; _v = new Tensor[layers];
        for (int i = 0; i < layers; i++)
        {
            _k[i] = zeros([batch, kvHeads, capacity, headDim], dtype, device).DetachFromDisposeScope();
            _v[i] = zeros([batch, kvHeads, capacity, headDim], dtype, device).DetachFromDisposeScope();
        }
    }

    KvCache(Tensor[] k, Tensor[] v, int capacity, int length)
    {
        _k = k; _v = v; Capacity = capacity; _len = [length];
    }

    /// <summary>A one-row cache sharing row <paramref name="b"/>'s storage (to prefill one request of a batch); call
    /// <see cref="SetRowLength"/> afterwards with its length.</summary>
    public KvCache Row(int b)
    {
        var k = _k.Select(t => t.narrow(0, b, 1).DetachFromDisposeScope()).ToArray();
        var v = _v.Select(t => t.narrow(0, b, 1).DetachFromDisposeScope()).ToArray();
        return new KvCache(k, v, Capacity, _len[b]);
    }

    public void SetRowLength(int b, int length)
    {
        if (length < 0 || length > Capacity) throw new ArgumentOutOfRangeException(nameof(length));
        _len[b] = length;
        LengthsChanged();
    }

    /// <summary>
    /// Writes k, v [B, KV, S, hd] of layer <paramref name="layer"/> after what each row holds and returns views of the cache
    /// up to the longest row including them ([B, KV, Length + S, hd]). Rows of different lengths take one position (S = 1).
    /// </summary>
    public (Tensor K, Tensor V) Append(int layer, Tensor k, Tensor v)
    {
        if (_fixed is not null) return AppendFixedShape(layer, k, v);
        long s = k.shape[2];
        if (Length + s > Capacity)
            throw new InvalidOperationException($"KV cache is full ({Capacity} positions): cannot add {s} more");
        if (IsUniform)
        {
            int start = _len[0];
            _k[layer].narrow(2, start, s).copy_(k);   // copy_ converts dtype when the cache is float32
            _v[layer].narrow(2, start, s).copy_(v);
            return (_k[layer].narrow(2, 0, start + s), _v[layer].narrow(2, 0, start + s));
        }
        if (s != 1) throw new InvalidOperationException("rows of different lengths can only be extended one position at a time");
        WriteAt(layer, k, v, RowPositions(k.device));
        return (_k[layer].narrow(2, 0, Length + 1), _v[layer].narrow(2, 0, Length + 1));
    }

    /// <summary>cache[b, :, positions[b], :] = k[b, :, 0, :] (and v) for every row at once.</summary>
    void WriteAt(int layer, Tensor k, Tensor v, Tensor positions)
    {
        using var scope = NewDisposeScope();
        if (_rows is null || !On(_rows, k.device))
        {
            _rows?.Dispose();
            _rows = Runtime.Scalars.Arange(0, Batch, ScalarType.Int64, k.device).DetachFromDisposeScope();
        }
        var index = new[] { TensorIndex.Tensor(_rows), TensorIndex.Colon, TensorIndex.Tensor(positions) };
        _k[layer].index_put_(In(_k[layer], k.select(2, 0)), index);
        _v[layer].index_put_(In(_v[layer], v.select(2, 0)), index);
    }

    static Tensor In(Tensor cache, Tensor t) => t.dtype == cache.dtype ? t : t.to(cache.dtype);

    /// <summary>
    /// Fixed-shape steps (<see cref="MolmoForCausalLM.ForwardFixedShape"/>, which a CUDA graph can replay): each row writes its
    /// one new position at <paramref name="positions"/>[row] ([B] int64 on the device, which the step itself advances, so the
    /// host's lengths are not read), and attention gets the whole capacity, masked per row by the caller. Null ends it.
    /// </summary>
    internal void UseFixedShape(Tensor? positions) => _fixed = positions;

    (Tensor K, Tensor V) AppendFixedShape(int layer, Tensor k, Tensor v)
    {
        if (k.shape[2] != 1) throw new InvalidOperationException("a fixed-shape step adds one position per row");
        WriteAt(layer, k, v, _fixed!);
        return (_k[layer].narrow(2, 0, Capacity), _v[layer].narrow(2, 0, Capacity));
    }

    /// <summary>Copies of the first <paramref name="length"/> positions of every layer's keys and values of a one-row cache
    /// ([1, KV, length, hd] each), to be written into another cache by <see cref="LoadPrefix"/>.</summary>
    internal (Tensor[] K, Tensor[] V) CopyPrefix(int length)
    {
        if (Batch != 1) throw new InvalidOperationException("a prefix is copied from a one-row cache (a row of a batch: Row(b))");
        if (length < 0 || length > _len[0]) throw new ArgumentOutOfRangeException(nameof(length), $"the cache holds {_len[0]} positions, not {length}");
        return (_k.Select(t => t.narrow(2, 0, length).clone().DetachFromDisposeScope()).ToArray(),
                _v.Select(t => t.narrow(2, 0, length).clone().DetachFromDisposeScope()).ToArray());
    }

    /// <summary>Fills an empty one-row cache with the first <paramref name="length"/> positions of <paramref name="k"/> and
    /// <paramref name="v"/> (from <see cref="CopyPrefix"/> of a cache of the same model), which it then holds.</summary>
    internal void LoadPrefix(Tensor[] k, Tensor[] v, int length)
    {
        if (Batch != 1 || _len[0] != 0) throw new InvalidOperationException("a prefix is loaded into an empty one-row cache");
        if (k.Length != _k.Length || v.Length != _v.Length) throw new ArgumentException($"a prefix of {k.Length} layers for a cache of {_k.Length}");
        if (length > Capacity) throw new ArgumentOutOfRangeException(nameof(length), $"{length} positions exceed the cache's {Capacity}");
        for (int i = 0; i < _k.Length; i++)
        {
            _k[i].narrow(2, 0, length).copy_(k[i].narrow(2, 0, length));
            _v[i].narrow(2, 0, length).copy_(v[i].narrow(2, 0, length));
        }
        _len[0] = length;
        LengthsChanged();
    }

    /// <summary>Marks <paramref name="n"/> more positions as stored in every row (call once per step, after every layer appended).</summary>
    public void Advance(int n) { for (int b = 0; b < _len.Length; b++) _len[b] += n; LengthsChanged(); }

    public void Dispose()
    {
        foreach (var t in _k) t.Dispose();
        foreach (var t in _v) t.Dispose();
        _positions?.Dispose();
        _rows?.Dispose();
    }
}
