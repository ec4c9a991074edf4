using System.Collections.Concurrent;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Molmo.Checkpoints;

/// <summary>Progress of loading weights: bytes copied so far of the total, and the tensor just loaded.</summary>
public readonly record struct LoadProgress(long BytesDone, long BytesTotal, int TensorsDone, int TensorsTotal, string Tensor);

/// <summary>The set of safetensors files of a checkpoint directory: one <c>model.safetensors</c>, or shards listed by
/// <c>model.safetensors.index.json</c>. Every file's header is validated when the checkpoint is opened.</summary>
public sealed class Checkpoint : IDisposable
{
    readonly Dictionary<string, SafetensorsFile> _byTensor = new(StringComparer.Ordinal);
    readonly List<SafetensorsFile> _files = [];

    public string Directory { get; }
    public IReadOnlyList<SafetensorsFile> Files => _files;
    public IEnumerable<string> TensorNames => _byTensor.Keys;
    public SafetensorsEntry Entry(string name) => _byTensor[name][name];
    public bool Contains(string name) => _byTensor.ContainsKey(name);
    public SafetensorsFile FileOf(string name) => _byTensor[name];
    public long TotalBytes => _files.Sum(f => f.Entries.Sum(e => e.ByteLength));

    Checkpoint(string dir) { Directory = dir; }

    public static Checkpoint Open(string dir)
    {
        if (!System.IO.Directory.Exists(dir)) throw new DirectoryNotFoundException($"model directory not found: {dir}");
        var ck = new Checkpoint(dir);
        try
        {
            var index = Path.Combine(dir, "model.safetensors.index.json");
            var single = Path.Combine(dir, "model.safetensors");
            if (File.Exists(index)) ck.OpenSharded(index);
            else if (File.Exists(single)) ck.Add(SafetensorsFile.Open(single), null);
            else
            {
                var any = System.IO.Directory.GetFiles(dir, "*.safetensors").Order().ToArray();
                if (any.Length == 0)
                {
                    var bin = System.IO.Directory.GetFiles(dir, "*.bin");
                    throw new FileNotFoundException(bin.Length > 0
                        ? $"{dir} holds only PyTorch pickle weights ({Path.GetFileName(bin[0])}); convert them to safetensors first"
                        : $"no safetensors weights in {dir} (expected model.safetensors or model.safetensors.index.json)");
                }
                foreach (var f in any) ck.Add(SafetensorsFile.Open(f), null);
            }
            return ck;
        }
        catch { ck.Dispose(); throw; }
    }

    void OpenSharded(string indexPath)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(indexPath)); }
        catch (JsonException e) { throw new InvalidDataException($"{indexPath}: not valid JSON ({e.Message})"); }
        using var _ = doc;
        if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{indexPath}: no \"weight_map\" object");
        var wanted = new Dictionary<string, List<string>>();
        foreach (var p in map.EnumerateObject())
        {
            var file = p.Value.GetString() ?? throw new InvalidDataException($"{indexPath}: tensor '{p.Name}' maps to no file");
            if (file.Contains('/') || file.Contains('\\') || file.Contains(".."))
                throw new InvalidDataException($"{indexPath}: shard name '{file}' must be a plain file name");
            if (!wanted.TryGetValue(file, out var list)) wanted[file] = list = [];
            list.Add(p.Name);
        }
        foreach (var (file, names) in wanted.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var path = Path.Combine(Directory, file);
            if (!File.Exists(path)) throw new FileNotFoundException($"{indexPath} lists shard {file}, which is missing", path);
            var st = SafetensorsFile.Open(path);
            Add(st, null);
            var missing = names.Where(n => !st.Contains(n)).ToList();
            if (missing.Count > 0)
                throw new InvalidDataException($"{file} lacks {missing.Count} tensor(s) the index assigns to it: {Preview(missing)}");
        }
    }

    void Add(SafetensorsFile f, object? _)
    {
        _files.Add(f);
        foreach (var n in f.Names)
        {
            if (!_byTensor.TryAdd(n, f))
                throw new InvalidDataException($"tensor '{n}' appears in both {Path.GetFileName(_byTensor[n].Path)} and {Path.GetFileName(f.Path)}");
        }
    }

    internal static string Preview(IReadOnlyCollection<string> names, int max = 8)
        => string.Join(", ", names.Take(max)) + (names.Count > max ? $", … ({names.Count - max} more)" : "");

    public void Dispose() { foreach (var f in _files) f.Dispose(); }
}

/// <summary>
/// Loads a checkpoint into a module whose parameter names are the checkpoint keys. Every mismatch is reported at once,
/// by name: missing tensors, unexpected tensors, wrong shapes, unsupported dtypes. Data is copied from the memory-mapped
/// files straight into parameter memory (converted to the module's dtype and moved to its device when they differ).
/// </summary>
public static class CheckpointLoader
{
    public static void Load(nn.Module module, Checkpoint ck, IProgress<LoadProgress>? progress = null, CancellationToken ct = default)
    {
        var all = module.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        // int8 and int4 layers: "x.weight_scale" is derived from the float "x.weight" while loading; it is no checkpoint key.
        // An int4 layer's weight holds two values a byte: the checkpoint's matrix is [out, in] for a parameter [out, in/2].
        // A checkpoint written by `molmo quantize` stores them, with the quantised matrices: then every parameter is read as it is.
        bool stored = all.Keys.Any(k => k.EndsWith(".weight_scale", StringComparison.Ordinal) && ck.Contains(k));
        var scales = all.Where(kv => !stored && kv.Key.EndsWith(".weight_scale", StringComparison.Ordinal))
                        .ToDictionary(kv => kv.Key[..^"_scale".Length], kv => kv.Value);
        var parameters = all.Where(kv => stored || !kv.Key.EndsWith(".weight_scale", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value);
        var missing = parameters.Keys.Where(n => !ck.Contains(n)).Order().ToList();
        var unexpected = ck.TensorNames.Where(n => !parameters.ContainsKey(n)).Order().ToList();
        var misShaped = new List<string>();
        var badDtype = new List<string>();
        foreach (var (name, p) in parameters)
        {
            if (!ck.Contains(name)) continue;
            var e = ck.Entry(name);
            var expected = scales.ContainsKey(name) && p.dtype == ScalarType.Byte ? new[] { p.shape[0], p.shape[1] * 2 } : p.shape;
            if (!e.Shape.SequenceEqual(expected))
                misShaped.Add($"{name} has shape [{string.Join(", ", e.Shape)}], expected [{string.Join(", ", expected)}]");
            // Quantised matrices (and their float32 scales) only as this engine writes them; everything else in a float dtype.
            bool quantised = stored && p.dtype is ScalarType.Int8 or ScalarType.Byte;
            if (quantised ? e.DType != SafetensorsDType.FromScalarType(p.dtype) : !SafetensorsDType.IsWeightDType(e.DType))
                badDtype.Add(quantised ? $"{name} is {e.DType}, expected {SafetensorsDType.FromScalarType(p.dtype)} (a quantised matrix as molmo quantize writes it)"
                    : $"{name} is {e.DType} (only F32, BF16 and F16 weights are supported; quantised checkpoints only as molmo quantize writes them)");
        }
        if (missing.Count + unexpected.Count + misShaped.Count + badDtype.Count > 0)
        {
            var parts = new List<string>();
            if (missing.Count > 0) parts.Add($"missing {missing.Count} tensor(s): {Checkpoint.Preview(missing)}");
            if (unexpected.Count > 0) parts.Add($"unexpected {unexpected.Count} tensor(s): {Checkpoint.Preview(unexpected)}");
            if (misShaped.Count > 0) parts.Add($"{misShaped.Count} tensor(s) of the wrong shape: {Checkpoint.Preview(misShaped, 4)}");
            if (badDtype.Count > 0) parts.Add($"{badDtype.Count} tensor(s) of an unsupported dtype: {Checkpoint.Preview(badDtype, 4)}");
            throw new InvalidDataException($"checkpoint {ck.Directory} does not match the model: " + string.Join("; ", parts));
        }

        long total = parameters.Keys.Sum(n => ck.Entry(n).ByteLength), done = 0;
        int count = 0;
        var gate = new object();
        void Done(string name, long bytes)
        {
            lock (gate) progress?.Report(new LoadProgress(done += bytes, total, ++count, parameters.Count, name));
        }
        using var _ = no_grad();
        var ordered = parameters.OrderBy(kv => ck.Entry(kv.Key).Begin).ToList();
        bool OnCpu(string name, Tensor p) => !scales.ContainsKey(name) && p.device_type == DeviceType.CPU;
        bool Direct(string name, Tensor p) => OnCpu(name, p) && p.is_contiguous() && SafetensorsDType.FromScalarType(p.dtype) == ck.Entry(name).DType;
        // Tensors stored as the model keeps them are read straight into its memory, several at a time: the reads wait on the
        // disk, and parallel ones keep more of it busy (docs/benchmarks.md, loading). Those the CPU converts (a float32
        // checkpoint into a bf16 model) go two at a time, each through a temporary of its own. int8 quantisation (which uses
        // every core itself) and copies to a GPU go one by one.
        InParallel(ordered.Where(kv => Direct(kv.Key, kv.Value)), ParallelReads, kv => ck.FileOf(kv.Key).CopyInto(ck.Entry(kv.Key), kv.Value));
        InParallel(ordered.Where(kv => OnCpu(kv.Key, kv.Value) && !Direct(kv.Key, kv.Value)), ParallelConversions, kv =>
        {
            using var noGrad = no_grad();   // per thread
            using var raw = ck.FileOf(kv.Key).Read(kv.Key);
            kv.Value.copy_(raw);
        });
        // The rest (int8 and int4 quantisation, copies to a GPU) run on this thread one by one, while the next tensor is read
        // ahead.
        var rest = ordered.Where(kv => !OnCpu(kv.Key, kv.Value)).ToList();
        if (rest.Count > 0)
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var readAhead = new BlockingCollection<Tensor>(boundedCapacity: 1);
            var reader = Task.Run(() =>
            {
                try
                {
                    foreach (var (name, _) in rest)
                    {
                        var raw = ck.FileOf(name).Read(name);
                        try { readAhead.Add(raw, stop.Token); }
                        catch { raw.Dispose(); throw; }
                    }
                }
                finally { readAhead.CompleteAdding(); }
            }, CancellationToken.None);
            try
            {
                foreach (var (name, p) in rest)
                {
                    if (!readAhead.TryTake(out var taken, Timeout.Infinite, ct))
                    {
                        reader.GetAwaiter().GetResult();   // the reader stopped early: its error, as a sequential load would throw it
                        throw new InvalidOperationException($"reading {ck.Directory} stopped before '{name}'");
                    }
                    using var raw = taken;
                    if (scales.TryGetValue(name, out var scale))
                    {
                        if (p.dtype == ScalarType.Byte) Model.Int4Quantizer.QuantizeInto(raw, p, scale);
                        else Model.Int8Quantizer.QuantizeInto(raw, p, scale);
                    }
                    else p.copy_(raw);
                    Done(name, ck.Entry(name).ByteLength);
                }
            }
            finally
            {
                // However this ended, the reader stops (cancelling unblocks its Add), and what it read ahead is released once it
                // has.
                stop.Cancel();
                try { reader.Wait(CancellationToken.None); }
                catch (AggregateException) { }   // thrown above where it mattered; moot after an error of our own
                while (readAhead.TryTake(out var left)) left.Dispose();
            }
        }

        void InParallel(IEnumerable<KeyValuePair<string, Tensor>> items, int threads, Action<KeyValuePair<string, Tensor>> load)
        {
            try
            {
                Parallel.ForEach(items, new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = ct }, kv =>
                {
                    load(kv);
                    Done(kv.Key, ck.Entry(kv.Key).ByteLength);
                });
            }
            catch (AggregateException e) when (e.InnerExceptions.Count > 0)
            {
                // The first load that failed, as a sequential load would have thrown it (a truncated file names itself).
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            }
        }
    }

    /// <summary>Tensors read at once into the model's memory while loading.</summary>
    const int ParallelReads = 4;

    /// <summary>Tensors converted at once (each holds a temporary of the stored dtype).</summary>
    const int ParallelConversions = 2;
}
