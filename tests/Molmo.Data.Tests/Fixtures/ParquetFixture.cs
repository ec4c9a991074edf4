using Parquet;
using Parquet.Schema;
using Parquet.Serialization;

namespace Molmo.Data.Tests.Fixtures;

/// <summary>
/// Writes small Parquet files with the released PixMo schemas (column names and Arrow types of
/// pixmo-data-and-eval.md §1.2), every field nullable as pyarrow writes them, with tiny row groups so readers
/// are exercised across row-group boundaries.
/// </summary>
public static class ParquetFixture
{
    // Schema building blocks in Arrow terms.
    public static DataField Str(string name) => new DataField<string>(name, nullable: true);
    public static DataField F64(string name) => new DataField<double>(name, nullable: true);
    public static DataField F32(string name) => new DataField<float>(name, nullable: true);
    public static DataField I64(string name) => new DataField<long>(name, nullable: true);
    public static DataField I32(string name) => new DataField<int>(name, nullable: true);
    public static DataField Bool(string name) => new DataField<bool>(name, nullable: true);
    public static DataField Bin(string name) => new DataField<byte[]>(name, nullable: true);
    public static ListField List(string name, Field item) => new(name, item);
    public static StructField Struct(string name, params Field[] fields) => new(name, fields);

    public static async Task WriteAsync(string path, ParquetSchema schema, IReadOnlyList<Dictionary<string, object?>> rows, int rowGroupSize = 2)
    {
        await using var fs = File.Create(path);
        var options = new ParquetOptions { RowGroupSize = rowGroupSize };
        await ParquetSerializer.SerializeUntypedAsync(rows.Select(r => (IDictionary<string, object?>)r).ToList(), schema, fs, options);
    }

    // Value helpers: the untyped serializer wants strings inside lists as ReadOnlyMemory<char>? and bytes as ReadOnlyMemory<byte>?.
    public static List<ReadOnlyMemory<char>?> Strings(params string[] values) => values.Select(v => (ReadOnlyMemory<char>?)v.AsMemory()).ToList();
    public static ReadOnlyMemory<byte>? Bytes(byte[] value) => value;

    public static Dictionary<string, object?> Pt(double x, double y) => new() { ["x"] = x, ["y"] = y };
    public static Dictionary<string, object?> Pt32(float x, float y) => new() { ["x"] = x, ["y"] = y };
    public static List<Dictionary<string, object?>> Pts(params (double X, double Y)[] points) => points.Select(p => Pt(p.X, p.Y)).ToList();
}
