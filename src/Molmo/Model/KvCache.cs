using static TorchSharp.torch;

namespace Molmo.Model;

/// <summary>
/// Preallocated key/value cache: per layer K and V of shape [B, KV heads, capacity, head dim] holding post-RoPE keys.
/// A step writes its new rows in place (no concatenation) and attends over the first <see cref="Length"/> + new rows.
/// </summary>
public sealed class KvCache : IDisposable
{
    readonly Tensor[] _k, _v;
    public int Capacity { get; }
    public int Batch { get; }
    /// <summary>Number of positions already stored (the next step's first position).</summary>
    public int Length { get; private set; }

    public KvCache(int layers, int batch, int kvHeads, int capacity, int headDim, ScalarType dtype, Device device)
    {
        Capacity = capacity; Batch = batch;
        _k = new Tensor[layers]; _v = new Tensor[layers];
        for (int i = 0; i < layers; i++)
        {
            _k[i] = zeros([batch, kvHeads, capacity, headDim], dtype, device).DetachFromDisposeScope();
            _v[i] = zeros([batch, kvHeads, capacity, headDim], dtype, device).DetachFromDisposeScope();
        }
    }

    /// <summary>Writes k, v [B, KV, S, hd] of layer <paramref name="layer"/> at the current length and returns views of
    /// everything cached so far including them ([B, KV, Length + S, hd]).</summary>
    public (Tensor K, Tensor V) Append(int layer, Tensor k, Tensor v)
    {
        long s = k.shape[2];
        if (Length + s > Capacity)
            throw new InvalidOperationException($"KV cache is full ({Capacity} positions): cannot add {s} more");
        _k[layer].narrow(2, Length, s).copy_(k);   // copy_ converts dtype when the cache is float32
        _v[layer].narrow(2, Length, s).copy_(v);
        return (_k[layer].narrow(2, 0, Length + s), _v[layer].narrow(2, 0, Length + s));
    }

    /// <summary>Marks <paramref name="n"/> more positions as stored (call once per step, after every layer appended).</summary>
    public void Advance(int n) => Length += n;

    /// <summary>Forgets everything after <paramref name="length"/> positions (reuse of a shared prefix).</summary>
    public void Truncate(int length) => Length = Math.Clamp(length, 0, Length);

    public void Dispose()
    {
        foreach (var t in _k) t.Dispose();
        foreach (var t in _v) t.Dispose();
    }
}
