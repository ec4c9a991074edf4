using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Molmo.Tests.Imaging;

/// <summary>Minimal test-only safetensors reader (u64 header length, JSON header, little-endian F32/I64/U8 data).</summary>
public sealed class GoldenFile
{
    readonly byte[] _bytes;
    readonly long _dataStart;
    readonly Dictionary<string, (string Dtype, long[] Shape, long Begin, long End)> _tensors = new();

    public string Path { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public GoldenFile(string path)
    {
        Path = path;
        _bytes = File.ReadAllBytes(path);
        long headerLen = (long)BinaryPrimitives.ReadUInt64LittleEndian(_bytes);
        _dataStart = 8 + headerLen;
        using var doc = JsonDocument.Parse(_bytes.AsMemory(8, (int)headerLen));
        var meta = new Dictionary<string, string>();
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__")
            {
                foreach (var m in p.Value.EnumerateObject()) meta[m.Name] = m.Value.GetString() ?? "";
                continue;
            }
            var shape = p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var off = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            _tensors[p.Name] = (p.Value.GetProperty("dtype").GetString()!, shape, off[0], off[1]);
        }
        Metadata = meta;
    }

    public bool Has(string name) => _tensors.ContainsKey(name);

    public long[] Shape(string name) => Get(name).Shape;

    (string Dtype, long[] Shape, long Begin, long End) Get(string name) =>
        _tensors.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"{Path}: no tensor '{name}'");

    ReadOnlySpan<byte> Raw(string name, string dtype)
    {
        var t = Get(name);
        if (t.Dtype != dtype) throw new InvalidDataException($"{Path}: tensor '{name}' is {t.Dtype}, expected {dtype}");
        return _bytes.AsSpan((int)(_dataStart + t.Begin), (int)(t.End - t.Begin));
    }

    public float[] F32(string name) => MemoryMarshal.Cast<byte, float>(Raw(name, "F32")).ToArray();
    public long[] I64(string name) => MemoryMarshal.Cast<byte, long>(Raw(name, "I64")).ToArray();
    public byte[] U8(string name) => Raw(name, "U8").ToArray();
}
