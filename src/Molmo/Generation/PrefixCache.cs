using System.Security.Cryptography;
using System.Text;
using Molmo.Model;
using static TorchSharp.torch;

namespace Molmo.Generation;

/// <summary>
/// The keys and values of prompts already prefilled, kept so that a later prompt that begins with the same tokens and the
/// same image computes only what follows them ("prefix caching"). A Molmo prompt puts the image first (BOS, then the image
/// tokens, then the text), so a second question about an image skips the vision encoder and the image's positions: 749 of a
/// 640×480 prompt's positions, about 19 s of 7B-D's prefill on the project's 2-vCPU machine. Multi-turn conversations reuse
/// the earlier turns' prompt the same way.
/// <para>
/// What may be reused: the longest run of leading token ids a stored prompt shares with the new one, when both have the same
/// image inputs (pixels, patch masks and feature positions, compared by hash) and the run covers every image position; at
/// least <see cref="MinTokens"/> of them, and never the new prompt's last token (its logits are what prefill is for). The
/// reused positions are the stored keys and values themselves; the rest of the prompt attends over them as a continued
/// prefill does, which equals one whole prefill up to the order of float sums (so a greedy answer can differ only where two
/// tokens are within rounding of each other).
/// </para>
/// <para>
/// Entries belong to one model and live on its device (7B-D: 57 KB a position in bf16, 43 MB for a 640×480 prompt); the
/// least recently used go when the total would pass <see cref="MaxBytes"/>. A prompt is stored after its prefill unless a
/// stored one already covers it; one it extends is replaced. Safe to share between threads.
/// </para>
/// </summary>
public sealed class PrefixCache : IDisposable
{
    /// <summary>The default budget: 1 GiB (about 24 image prompts of 7B-D in bf16).</summary>
    public const long DefaultMaxBytes = 1L << 30;

    /// <summary>The fewest leading positions worth reusing or storing by default.</summary>
    public const int DefaultMinTokens = 16;

    sealed class Entry(long[] ids, string? imageKey, Tensor[] k, Tensor[] v, long bytes) : IDisposable
    {
        public readonly long[] Ids = ids;
        public readonly string? ImageKey = imageKey;
        public readonly Tensor[] K = k, V = v;
        public readonly long Bytes = bytes;
        public long LastUse;

        public void Dispose()
        {
            foreach (var t in K) t.Dispose();
            foreach (var t in V) t.Dispose();
        }
    }

    /// <summary>A prompt as the cache compares it: its ids, its image inputs' hash (null: none) and the first position
    /// after every image feature.</summary>
    readonly record struct Prompt(long[] Ids, string? ImageKey, int ImageEnd);

    readonly List<Entry> _entries = [];
    readonly object _lock = new();
    long _clock, _bytes, _hits, _misses, _reused;
    bool _disposed;

    /// <param name="model">The model whose prompts are stored (entries are its keys and values).</param>
    /// <param name="maxBytes">The most the entries may hold together, on the model's device.</param>
    /// <param name="minTokens">The fewest leading positions worth reusing or storing.</param>
    public PrefixCache(MolmoForCausalLM model, long maxBytes = DefaultMaxBytes, int minTokens = DefaultMinTokens)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (maxBytes <= 0) throw new ArgumentOutOfRangeException(nameof(maxBytes), "a prefix cache needs a budget above 0 bytes");
        if (minTokens < 1) throw new ArgumentOutOfRangeException(nameof(minTokens), "at least one position");
        Model = model; MaxBytes = maxBytes; MinTokens = minTokens;
    }

    public MolmoForCausalLM Model { get; }
    public long MaxBytes { get; }
    public int MinTokens { get; }

    /// <summary>Bytes the entries hold now.</summary>
    public long Bytes { get { lock (_lock) return _bytes; } }

    /// <summary>Prompts stored now.</summary>
    public int Count { get { lock (_lock) return _entries.Count; } }

    /// <summary>Prefills that reused a stored prefix.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Prefills that computed the whole prompt.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>Prompt positions taken from the cache instead of computed, over all prefills.</summary>
    public long ReusedTokens => Interlocked.Read(ref _reused);

    /// <summary>
    /// Prefills <paramref name="inputs"/> (one sequence, input_ids [1, S]) into the empty one-row <paramref name="cache"/> (a
    /// request's own cache, or a row of a batch: <see cref="KvCache.Row"/>): the longest stored prefix it may reuse is copied
    /// in and only the rest is computed (a whole prompt as <see cref="MolmoForCausalLM.Prefill"/> computes it); then the
    /// prompt is stored for later ones. Returns the forward pass's output (the last position's logits) and, in
    /// <paramref name="reused"/>, the prompt positions that came from the cache (0 when none did).
    /// </summary>
    public ForwardOutput Prefill(ModelInputs inputs, KvCache cache, out int reused)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(cache);
        ObjectDisposedException.ThrowIf(_disposed, this);
        reused = 0;
        // Padded or batched inputs, or a cache that already holds something, are prefilled as they are.
        if (cache.Batch != 1 || cache.Length != 0 || Describe(inputs) is not { } prompt) return Model.Prefill(inputs, cache);
        lock (_lock)
        {
            if (Best(prompt, out int r) is { } entry)
            {
                // Copied while the lock is held: the entry cannot be evicted meanwhile (on a GPU the copy is queued in order).
                cache.LoadPrefix(entry.K, entry.V, r);
                entry.LastUse = ++_clock;
                reused = r;
            }
        }
        ForwardOutput output;
        if (reused > 0)
        {
            Interlocked.Increment(ref _hits);
            Interlocked.Add(ref _reused, reused);
            using var rest = tensor(prompt.Ids[reused..], [1, prompt.Ids.Length - reused]);
            output = Model.Forward(new ModelInputs(rest), cache, new ForwardOptions { AllLogits = false });
        }
        else
        {
            Interlocked.Increment(ref _misses);
            output = Model.Prefill(inputs, cache);
        }
        Store(prompt, cache);
        return output;
    }

    /// <summary>A prompt's prefill through <paramref name="prefixes"/> when there is one (which must belong to
    /// <paramref name="model"/>), else whole (<see cref="MolmoForCausalLM.Prefill"/>): the generators' one way in.</summary>
    internal static ForwardOutput Prefill(PrefixCache? prefixes, MolmoForCausalLM model, ModelInputs inputs, KvCache cache, out int reused)
    {
        reused = 0;
        if (prefixes is null) return model.Prefill(inputs, cache);
        if (!ReferenceEquals(prefixes.Model, model)) throw new InvalidOperationException("the prefix cache belongs to another model");
        return prefixes.Prefill(inputs, cache, out reused);
    }

    /// <summary>Drops every entry.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            foreach (var e in _entries) e.Dispose();
            _entries.Clear();
            _bytes = 0;
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

    /// <summary>The stored entry sharing the longest reusable prefix with <paramref name="p"/> (the most recent of equals),
    /// and that prefix's length.</summary>
    Entry? Best(Prompt p, out int reuse)
    {
        Entry? best = null;
        reuse = 0;
        foreach (var e in _entries)
        {
            if (e.ImageKey != p.ImageKey) continue;
            int r = Math.Min(CommonPrefix(e.Ids, p.Ids), p.Ids.Length - 1);
            if (r < MinTokens || r < p.ImageEnd) continue;
            if (r > reuse || (r == reuse && e.LastUse > best!.LastUse)) (best, reuse) = (e, r);
        }
        return best;
    }

    /// <summary>Stores the prompt just prefilled into <paramref name="cache"/>, unless a stored one covers it.</summary>
    void Store(Prompt p, KvCache cache)
    {
        int n = p.Ids.Length;
        if (n < MinTokens || cache.Length < n) return;
        long bytes = cache.BytesPerPosition * n;
        if (bytes > MaxBytes) return;
        lock (_lock)
        {
            if (_disposed) return;
            foreach (var e in _entries)
                if (e.ImageKey == p.ImageKey && e.Ids.Length >= n && CommonPrefix(e.Ids, p.Ids) == n)
                {
                    e.LastUse = ++_clock;
                    return;
                }
            // Entries this prompt extends are replaced by it.
            foreach (var e in _entries.Where(e => e.ImageKey == p.ImageKey && e.Ids.Length < n && CommonPrefix(e.Ids, p.Ids) == e.Ids.Length).ToList())
                Remove(e);
            while (_bytes + bytes > MaxBytes && _entries.Count > 0) Remove(_entries.MinBy(e => e.LastUse)!);
            var (k, v) = cache.CopyPrefix(n);
            _entries.Add(new Entry(p.Ids, p.ImageKey, k, v, bytes) { LastUse = ++_clock });
            _bytes += bytes;
        }
    }

    void Remove(Entry e)
    {
        _entries.Remove(e);
        _bytes -= e.Bytes;
        e.Dispose();
    }

    static int CommonPrefix(long[] a, long[] b)
    {
        int n = Math.Min(a.Length, b.Length);
        return a.AsSpan(0, n).CommonPrefixLength(b.AsSpan(0, n));
    }

    /// <summary>The prompt's ids, image hash and image end; null for inputs the cache does not take (padded, batched, or
    /// images without their masks and positions, which the forward pass rejects with its own message).</summary>
    static Prompt? Describe(ModelInputs inputs)
    {
        using var scope = NewDisposeScope();
        var idsT = inputs.InputIds;
        if (idsT.dim() != 2 || idsT.shape[0] != 1 || idsT.shape[1] == 0) return null;
        var ids = idsT.to(ScalarType.Int64).cpu().data<long>().ToArray();
        if (ids.Any(i => i < 0)) return null;
        if (inputs.Images is null) return new Prompt(ids, null, 0);
        if (inputs.ImageMasks is null || inputs.ImageInputIdx is null) return null;
        var idx = inputs.ImageInputIdx.to(ScalarType.Int64).cpu();
        if (idx.NumberOfElements == 0) return null;
        int end = (int)Math.Max(0, idx.max().item<long>() + 1);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var t in new[] { inputs.Images, inputs.ImageMasks, idx }) Append(hash, t);
        return new Prompt(ids, Convert.ToHexString(hash.GetHashAndReset()), end);
    }

    /// <summary>Bytes hashed per piece: a 12-crop image's pixels (17.6 MB, 9 ms for SHA-256 on one core) are hashed on every
    /// core in pieces, and the pieces' digests in order.</summary>
    const int HashPiece = 1 << 20;

    /// <summary>A tensor's dtype, shape and bytes into the hash (the same bytes in another layout are other inputs).</summary>
    static unsafe void Append(IncrementalHash hash, Tensor t)
    {
        var c = t.cpu().contiguous();
        hash.AppendData(Encoding.UTF8.GetBytes($"{c.dtype}[{string.Join(",", c.shape)}];"));
        long size = c.NumberOfElements * c.ElementSize;
        nint p = Checkpoints.NativeTensor.DataPointer(c);
        int pieces = (int)((size + HashPiece - 1) / HashPiece);
        var digests = new byte[pieces * 32];
        Parallel.For(0, pieces, i =>
        {
            long off = (long)i * HashPiece;
            SHA256.HashData(new ReadOnlySpan<byte>((byte*)p + off, (int)Math.Min(HashPiece, size - off)), digests.AsSpan(i * 32, 32));
        });
        hash.AppendData(digests);
    }
}
