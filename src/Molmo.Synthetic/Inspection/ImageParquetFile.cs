using System.Collections;
using System.Globalization;
using global::Parquet;
using global::Parquet.Schema;
using global::Parquet.Serialization;

namespace Molmo.Synthetic.Inspection;

/// <summary>
/// Reads single rows of a Parquet file that holds images as bytes: either a struct column <c>image{bytes, path}</c> (Hugging Face
/// <c>datasets.Image</c>, pixmo-docs, this library) or a plain binary column. Only the row group that holds the row is decoded.
/// Recognised annotation columns: <c>questions</c> (list of {question, answer}), <c>question</c>/<c>answer</c>, <c>points</c>
/// (list of {x, y}); every other scalar column is returned as text.
/// </summary>
public sealed class ImageParquetFile
{
    readonly string _path;
    readonly long[] _groupStarts;
    readonly string _imageColumn;
    readonly Dictionary<int, IList<Dictionary<string, object>>> _cache = new();

    public long RowCount { get; }
    public string ImageColumn => _imageColumn;
    public IReadOnlyDictionary<string, string> Metadata { get; }

    ImageParquetFile(string path, long[] starts, long rows, string imageColumn, IReadOnlyDictionary<string, string> meta)
    {
        _path = path; _groupStarts = starts; RowCount = rows; _imageColumn = imageColumn; Metadata = meta;
    }

    public static async Task<ImageParquetFile> OpenAsync(string path, CancellationToken ct = default)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} does not exist", path);
        await using var fs = File.OpenRead(path);
        ParquetReader reader;
        try { reader = await ParquetReader.CreateAsync(fs, null, false, ct).ConfigureAwait(false); }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidDataException($"{path} is not a readable Parquet file: {e.Message}", e);
        }
        await using (reader)
        {
            var starts = new long[reader.RowGroupCount];
            long total = 0;
            for (int i = 0; i < reader.RowGroupCount; i++)
            {
                starts[i] = total;
                total += reader.RowGroups[i].RowCount;
            }
            var column = FindImageColumn(reader.Schema)
                ?? throw new InvalidDataException($"{path} has no image-bytes column: expected a struct 'image' with a binary 'bytes' field " +
                                                  $"or a binary column; columns are {string.Join(", ", reader.Schema.Fields.Select(f => f.Name))}");
            return new ImageParquetFile(path, starts, total, column, reader.CustomMetadata ?? new Dictionary<string, string>());
        }
    }

    /// <summary>The top-level column holding image bytes: prefers one named "image", then any binary/struct-with-bytes column.</summary>
    static string? FindImageColumn(ParquetSchema schema)
    {
        bool IsBinary(DataField f) => f.ClrType == typeof(byte[]) || f.ClrType == typeof(ReadOnlyMemory<byte>);
        var candidates = new List<string>();
        foreach (var field in schema.Fields)
        {
            if (field is DataField df && IsBinary(df) && df.MaxRepetitionLevel == 0) candidates.Add(df.Name);
            else if (field is StructField sf && sf.Fields.OfType<DataField>().Any(c => c.Name == "bytes" && IsBinary(c))) candidates.Add(sf.Name);
        }
        return candidates.FirstOrDefault(c => c == "image") ?? candidates.FirstOrDefault(c => c.Contains("image", StringComparison.OrdinalIgnoreCase))
            ?? candidates.FirstOrDefault();
    }

    public async Task<ImageRow> ReadRowAsync(long index, CancellationToken ct = default)
    {
        if (index < 0 || index >= RowCount)
            throw new ArgumentOutOfRangeException(nameof(index), $"row {index} is out of range: {_path} has {RowCount} rows (0..{RowCount - 1})");
        int g = Array.FindLastIndex(_groupStarts, s => s <= index);
        if (!_cache.TryGetValue(g, out var rows))
        {
            _cache.Clear();
            await using var fs = File.OpenRead(_path);
            var res = await ParquetSerializer.DeserializeUntypedAsync(fs, null, g, ct).ConfigureAwait(false);
            rows = res.Data;
            _cache[g] = rows;
        }
        var row = rows[(int)(index - _groupStarts[g])];
        return ToImageRow((int)index, row);
    }

    ImageRow ToImageRow(int index, Dictionary<string, object> row)
    {
        byte[]? bytes = row.TryGetValue(_imageColumn, out var img) ? img switch
        {
            byte[] b => b,
            IDictionary d when d.Contains("bytes") => d["bytes"] as byte[],
            _ => null,
        } : null;
        if (bytes is null || bytes.Length == 0)
            throw new InvalidDataException($"{_path}: row {index} has no bytes in column '{_imageColumn}' (images referenced only by URL must be fetched first)");

        var qa = new List<(string, string)>();
        var points = new List<(double, double)>();
        var fields = new List<(string, string)>();
        foreach (var (key, value) in row)
        {
            if (key == _imageColumn) continue;
            if (key == "questions" && value is IEnumerable list && value is not string)
            {
                foreach (var item in list)
                    if (item is IDictionary d) qa.Add((Text(d["question"]), Text(d.Contains("answer") ? d["answer"] : null)));
                // The HF "dict of lists" layout: {question: [...], answer: [...]}.
                if (value is IDictionary dl && dl["question"] is IList qs && dl["answer"] is IList ans)
                    for (int i = 0; i < Math.Min(qs.Count, ans.Count); i++) qa.Add((Text(qs[i]), Text(ans[i])));
            }
            else if (key == "points" && value is IEnumerable pts && value is not string)
            {
                foreach (var p in pts)
                    if (p is IDictionary d && d.Contains("x") && d.Contains("y")) points.Add((Num(d["x"]), Num(d["y"])));
            }
            else if (value is null or string or IConvertible)
                fields.Add((key, Text(value)));
        }
        if (row.TryGetValue("question", out var q) && row.TryGetValue("answer", out var a)) qa.Insert(0, (Text(q), Text(a)));
        fields.RemoveAll(f => f.Item1 is "question" or "answer");
        return new ImageRow(index, bytes, qa, points, fields);
    }

    static string Text(object? v) => v switch
    {
        null => "",
        string s => s,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };

    static double Num(object? v) => v is null ? double.NaN : Convert.ToDouble(v, CultureInfo.InvariantCulture);
}
