using System.Text;
using System.Text.Json;
using TorchSharp;

namespace Molmo.Checkpoints;

/// <summary>
/// Writes safetensors files: header padded with spaces to a multiple of 8 bytes (its length counted in UTF-8 bytes),
/// tensors in the order given, little-endian, contiguous. Written to a temporary file and renamed, so an interrupted
/// write never leaves a half file and an existing file is only replaced when <c>overwrite</c> is set.
/// </summary>
public static class SafetensorsWriter
{
    public static void Save(string path, IEnumerable<KeyValuePair<string, torch.Tensor>> tensors,
                            IReadOnlyDictionary<string, string>? metadata = null, bool overwrite = true)
    {
        if (!overwrite && File.Exists(path))
            throw new IOException($"{path} already exists (refusing to overwrite)");
        var list = tensors.ToList();
        var dup = list.GroupBy(kv => kv.Key).FirstOrDefault(g => g.Count() > 1);
        if (dup != null) throw new ArgumentException($"tensor name '{dup.Key}' appears twice");

        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, t) in list)
            {
                long n = t.NumberOfElements * t.ElementSize;
                w.WriteStartObject(name);
                w.WriteString("dtype", SafetensorsDType.FromScalarType(t.dtype));
                w.WriteStartArray("shape");
                foreach (var d in t.shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset); w.WriteNumberValue(offset + n);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += n;
            }
            w.WriteEndObject();
        }
        var header = ms.ToArray().ToList();
        while (header.Count % 8 != 0) header.Add((byte)' ');

        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = System.IO.Path.Combine(dir, $".{System.IO.Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            {
                fs.Write(BitConverter.GetBytes((ulong)header.Count));
                fs.Write(header.ToArray());
                foreach (var (_, t) in list) WriteTensor(fs, t);
            }
            File.Move(tmp, path, overwrite);
        }
        catch
        {
            try { File.Delete(tmp); } catch { /* best effort */ }
            throw;
        }
    }

    /// <summary>
    /// Writes a Hugging Face style sharded checkpoint: <c>model-0000k-of-0000N.safetensors</c> of at most
    /// <paramref name="maxShardBytes"/> each (a larger tensor gets a shard of its own) and <c>model.safetensors.index.json</c>.
    /// Tensors are fetched one shard at a time through <paramref name="get"/> (the writer disposes what it returns, so return a
    /// detached view or a copy), so the whole model need not be in memory twice.
    /// </summary>
    public static void SaveSharded(string dir, IReadOnlyList<(string Name, long Bytes)> layout, Func<string, torch.Tensor> get,
                                   long maxShardBytes = 5L << 30, IProgress<(int Shard, int Shards)>? progress = null)
    {
        Directory.CreateDirectory(dir);
        var shards = new List<List<(string Name, long Bytes)>> { new() };
        long current = 0;
        foreach (var t in layout)
        {
            if (current > 0 && current + t.Bytes > maxShardBytes) { shards.Add([]); current = 0; }
            shards[^1].Add(t); current += t.Bytes;
        }
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < shards.Count; i++)
        {
            var file = $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
            var tensors = shards[i].Select(t => new KeyValuePair<string, torch.Tensor>(t.Name, get(t.Name))).ToList();
            try { Save(Path.Combine(dir, file), tensors, new Dictionary<string, string> { ["format"] = "pt" }); }
            finally { foreach (var kv in tensors) kv.Value.Dispose(); }
            foreach (var t in shards[i]) weightMap[t.Name] = file;
            progress?.Report((i + 1, shards.Count));
        }
        var index = new { metadata = new { total_size = layout.Sum(t => t.Bytes) }, weight_map = weightMap };
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"),
            JsonSerializer.Serialize(index, new JsonSerializerOptions { WriteIndented = true }));
    }

    static unsafe void WriteTensor(Stream s, torch.Tensor t)
    {
        using var scope = torch.NewDisposeScope();
        var c = t.detach().cpu().contiguous();
        long n = c.NumberOfElements * c.ElementSize;
        if (n == 0) return;
        byte* p = (byte*)NativeTensor.DataPointer(c);
        const int chunk = 1 << 26;
        for (long o = 0; o < n; o += chunk)
            s.Write(new ReadOnlySpan<byte>(p + o, (int)Math.Min(chunk, n - o)));
    }
}
