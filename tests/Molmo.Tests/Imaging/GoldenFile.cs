using Molmo.Checkpoints;
using static TorchSharp.torch;

namespace Molmo.Tests.Imaging;

/// <summary>Golden tensors as plain arrays, read with the engine's own safetensors reader.</summary>
public sealed class GoldenFile
{
    readonly Dictionary<string, SafetensorsEntry> _entries;

    public string Path { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    public GoldenFile(string path)
    {
        Path = path;
        using var f = SafetensorsFile.Open(path);
        _entries = f.Entries.ToDictionary(e => e.Name);
        Metadata = f.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value);
    }

    public bool Has(string name) => _entries.ContainsKey(name);

    public long[] Shape(string name) => Get(name).Shape;

    SafetensorsEntry Get(string name) =>
        _entries.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"{Path}: no tensor '{name}'");

    T[] Read<T>(string name, string dtype) where T : unmanaged
    {
        var e = Get(name);
        if (e.DType != dtype) throw new InvalidDataException($"{Path}: tensor '{name}' is {e.DType}, expected {dtype}");
        using var f = SafetensorsFile.Open(Path);
        using var t = f.Read(name);
        return t.data<T>().ToArray();
    }

    public float[] F32(string name) => Read<float>(name, "F32");
    public long[] I64(string name) => Read<long>(name, "I64");
    public byte[] U8(string name) => Read<byte>(name, "U8");
}
