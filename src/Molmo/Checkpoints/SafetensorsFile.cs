using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using System.Text.Json;
using TorchSharp;

namespace Molmo.Checkpoints;

/// <summary>One tensor's entry in a safetensors header. Offsets are absolute file offsets.</summary>
public sealed record SafetensorsEntry(string Name, string DType, long[] Shape, long Begin, long End)
{
    public long NumElements => Shape.Aggregate(1L, (a, b) => a * b);
    public long ByteLength => End - Begin;
}

/// <summary>
/// A safetensors file: an 8-byte little-endian header length N, N bytes of JSON
/// (<c>{"name": {"dtype", "shape", "data_offsets": [b, e]}, "__metadata__": {...}}</c>), then the raw little-endian data.
/// The header is validated completely on open (length vs file size, dtypes, shape × element size = byte range,
/// ranges inside the data area and not overlapping), so a truncated or corrupt file fails before any tensor is read.
/// Tensor bytes are read straight into tensor memory with positional reads: nothing goes through managed arrays.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    const long MaxHeaderBytes = 100L * 1024 * 1024;

    readonly SafeFileHandle? _file;
    readonly Dictionary<string, SafetensorsEntry> _entries;

    public string Path { get; }
    public long FileLength { get; }
    public long DataStart { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public IReadOnlyCollection<SafetensorsEntry> Entries => _entries.Values;
    public IEnumerable<string> Names => _entries.Keys;

    SafetensorsFile(string path, SafeFileHandle? file, long length, long dataStart,
                    Dictionary<string, SafetensorsEntry> entries, Dictionary<string, string> metadata)
    {
        Path = path; _file = file; FileLength = length; DataStart = dataStart; _entries = entries; Metadata = metadata;
    }

    public static SafetensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"safetensors file not found: {path}", path);
        long length = new FileInfo(path).Length;
        if (length < 8) throw new InvalidDataException($"{path}: file is {length} bytes, too short for a safetensors header (truncated?)");
        byte[] headerBytes;
        using (var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
        {
            Span<byte> lenBuf = stackalloc byte[8];
            fs.ReadExactly(lenBuf);
            ulong n = BitConverter.ToUInt64(lenBuf);
            if (n == 0 || n > MaxHeaderBytes)
                throw new InvalidDataException($"{path}: header length {n} is not plausible (the file is probably not safetensors)");
            if ((long)n > length - 8)
                throw new InvalidDataException($"{path}: header length {n} runs past the end of the file ({length} bytes; truncated?)");
            headerBytes = new byte[n];
            fs.ReadExactly(headerBytes);
        }
        long dataStart = 8 + headerBytes.Length;
        var (entries, metadata) = ParseHeader(path, headerBytes, dataStart, length);
        // A file of only a header is valid (no tensors) and has nothing to read.
        var file = length > dataStart ? File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan) : null;
        return new SafetensorsFile(path, file, length, dataStart, entries, metadata);
    }

    static (Dictionary<string, SafetensorsEntry>, Dictionary<string, string>) ParseHeader(string path, byte[] header, long dataStart, long fileLength)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: header is not valid JSON ({e.Message})"); }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: header is not a JSON object");
        var entries = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>();
        long dataLength = fileLength - dataStart;
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            if (prop.Name == "__metadata__")
            {
                if (prop.Value.ValueKind == JsonValueKind.Object)
                    foreach (var m in prop.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                continue;
            }
            var v = prop.Value;
            if (v.ValueKind != JsonValueKind.Object || !v.TryGetProperty("dtype", out var dt) || !v.TryGetProperty("shape", out var sh)
                || !v.TryGetProperty("data_offsets", out var off) || off.GetArrayLength() != 2)
                throw new InvalidDataException($"{path}: tensor '{prop.Name}' has a malformed header entry (needs dtype, shape, data_offsets)");
            string dtype = dt.GetString() ?? "";
            int esize;
            try { esize = SafetensorsDType.ElementSize(dtype); }
            catch (InvalidDataException) { throw new InvalidDataException($"{path}: tensor '{prop.Name}' has unknown dtype '{dtype}'"); }
            var shape = sh.EnumerateArray().Select(x => x.GetInt64()).ToArray();
            if (shape.Any(d => d < 0)) throw new InvalidDataException($"{path}: tensor '{prop.Name}' has a negative dimension");
            long b = off[0].GetInt64(), e = off[1].GetInt64();
            if (b < 0 || e < b) throw new InvalidDataException($"{path}: tensor '{prop.Name}' has invalid data_offsets [{b}, {e}]");
            long expected = shape.Aggregate(1L, (a, d) => checked(a * d)) * esize;
            if (e - b != expected)
                throw new InvalidDataException($"{path}: tensor '{prop.Name}' ({dtype} [{string.Join(", ", shape)}]) needs {expected} bytes but data_offsets span {e - b}");
            if (e > dataLength)
                throw new InvalidDataException($"{path}: tensor '{prop.Name}' data [{b}, {e}) runs past the end of the file (data area is {dataLength} bytes; truncated?)");
            entries[prop.Name] = new SafetensorsEntry(prop.Name, dtype, shape, dataStart + b, dataStart + e);
        }
        // Ranges must not overlap (zero-length tensors may sit anywhere).
        SafetensorsEntry? prev = null;
        foreach (var en in entries.Values.Where(x => x.ByteLength > 0).OrderBy(x => x.Begin))
        {
            if (prev != null && en.Begin < prev.End)
                throw new InvalidDataException($"{path}: tensors '{prev.Name}' and '{en.Name}' have overlapping data ranges");
            prev = en;
        }
        return (entries, metadata);
    }

    public bool Contains(string name) => _entries.ContainsKey(name);

    public SafetensorsEntry this[string name] => _entries.TryGetValue(name, out var e)
        ? e : throw new KeyNotFoundException($"{Path}: no tensor named '{name}'");

    /// <summary>Reads a tensor as stored (dtype and shape of the file) into CPU memory.</summary>
    public torch.Tensor Read(string name)
    {
        var e = this[name];
        var t = torch.empty(e.Shape, SafetensorsDType.ToScalarType(e.DType), torch.CPU);
        try { CopyInto(e, t); }
        catch { t.Dispose(); throw; }
        return t;
    }

    /// <summary>Reads a tensor, converting to <paramref name="dtype"/> and moving to <paramref name="device"/>.</summary>
    public torch.Tensor Read(string name, torch.ScalarType dtype, torch.Device device)
    {
        using var raw = Read(name);
        return raw.to(dtype, device);
    }

    /// <summary>Copies the stored bytes of <paramref name="e"/> into the contiguous CPU tensor <paramref name="dst"/> of the stored dtype.</summary>
    internal unsafe void CopyInto(SafetensorsEntry e, torch.Tensor dst)
    {
        if (dst.device_type != DeviceType.CPU || !dst.is_contiguous())
            throw new ArgumentException("destination must be a contiguous CPU tensor");
        long nbytes = dst.NumberOfElements * dst.ElementSize;
        if (nbytes != e.ByteLength) throw new ArgumentException($"destination has {nbytes} bytes, tensor '{e.Name}' has {e.ByteLength}");
        if (nbytes == 0) return;
        byte* dstPtr = (byte*)NativeTensor.DataPointer(dst);
        // Positional reads straight into the tensor's memory. From a cold page cache they ran 1.4–1.8 times as fast as copying
        // out of a memory mapping, whose 4 KB page faults read ahead less (docs/benchmarks.md, loading), and the file's pages
        // never count in the process's RSS. Safe from several threads at once.
        const int chunk = 64 << 20;
        for (long o = 0; o < nbytes;)
        {
            int n = (int)Math.Min(chunk, nbytes - o);
            int got = RandomAccess.Read(_file!, new Span<byte>(dstPtr + o, n), e.Begin + o);
            if (got <= 0)
                throw new InvalidDataException($"{Path}: tensor '{e.Name}' ends early at byte {e.Begin + o} of {FileLength} (was the file truncated after it was opened?)");
            o += got;
        }
    }

    public void Dispose() => _file?.Dispose();
}

/// <summary>Access to a CPU tensor's data pointer (TorchSharp 0.107 exposes no public accessor).</summary>
internal static partial class NativeTensor
{
    [LibraryImport("LibTorchSharp")]
    private static partial IntPtr THSTensor_data(IntPtr tensor);

    public static IntPtr DataPointer(torch.Tensor t)
    {
        var p = THSTensor_data(t.Handle);
        if (p == IntPtr.Zero && t.NumberOfElements > 0) throw new InvalidOperationException("could not read the tensor data pointer");
        return p;
    }
}
