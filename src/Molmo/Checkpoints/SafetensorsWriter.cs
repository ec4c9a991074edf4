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
