using System.Collections;
using Parquet.Serialization;

namespace Molmo.Eval.Benchmarks;

/// <summary>Reads a Parquet file into plain rows (column name → value; lists and structs as .NET collections).</summary>
public static class ParquetRows
{
    public static async Task<IReadOnlyList<IDictionary<string, object?>>> ReadAsync(string path, CancellationToken ct = default)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"file not found: {path}", path);
        await using var fs = File.OpenRead(path);
        try
        {
            var result = await ParquetSerializer.DeserializeUntypedAsync(fs, null, null, ct).ConfigureAwait(false);
            return result.Data.Select(d => (IDictionary<string, object?>)d.ToDictionary(kv => kv.Key, kv => (object?)kv.Value)).ToList();
        }
        catch (Exception e) when (e is not OperationCanceledException and not IOException)
        {
            throw new InvalidDataException($"{path}: cannot read as Parquet ({e.Message})", e);
        }
    }

    public static IReadOnlyList<IDictionary<string, object?>> Read(string path) => ReadAsync(path).GetAwaiter().GetResult();

    /// <summary>A value as a string, or null (numbers in invariant spelling).</summary>
    public static string? Text(IDictionary<string, object?> row, string column) =>
        row.TryGetValue(column, out var v) ? AsText(v) : null;

    public static string? AsText(object? v) => v switch
    {
        null => null,
        string s => s,
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => v.ToString(),
    };

    /// <summary>A list column as strings (null elements dropped); a single string becomes a one-element list.</summary>
    public static IReadOnlyList<string>? TextList(IDictionary<string, object?> row, string column)
    {
        if (!row.TryGetValue(column, out var v) || v == null) return null;
        if (v is string s) return [s];
        if (v is IEnumerable e) return e.Cast<object?>().Select(AsText).Where(x => x != null).Select(x => x!).ToArray();
        return [AsText(v)!];
    }

    /// <summary>
    /// Image bytes from a binary column or a Hugging Face image struct {bytes, path}; the path of such a struct is returned
    /// when it has no bytes.
    /// </summary>
    public static (byte[]? Bytes, string? Path) Image(IDictionary<string, object?> row, string column)
    {
        if (!row.TryGetValue(column, out var v) || v == null) return (null, null);
        if (v is byte[] b) return (b.Length > 0 ? b : null, null);
        if (v is string s) return (null, s);
        if (v is IDictionary<string, object?> d)
        {
            d.TryGetValue("bytes", out var bytes);
            d.TryGetValue("path", out var p);
            return (bytes is byte[] bb && bb.Length > 0 ? bb : null, p as string);
        }
        if (v is IDictionary nd)
            return (nd["bytes"] is byte[] bb && bb.Length > 0 ? bb : null, nd["path"] as string);
        throw new InvalidDataException($"column '{column}' holds {v.GetType().Name}; expected image bytes, a path or a {{bytes, path}} struct");
    }

    /// <summary>An integer column value, or null.</summary>
    public static long? Integer(IDictionary<string, object?> row, string column)
    {
        if (!row.TryGetValue(column, out var v) || v == null) return null;
        return v switch
        {
            int i => i, long l => l, short s => s, byte by => by, uint ui => ui, ulong ul => (long)ul,
            double d when d == Math.Floor(d) => (long)d,
            float f when f == Math.Floor(f) => (long)f,
            string str when long.TryParse(str, out var p) => p,
            _ => throw new InvalidDataException($"column '{column}' holds '{v}', expected an integer"),
        };
    }
}
