using Molmo.Data.Datasets;

namespace Molmo.Data.Parquet;

/// <summary>Summary of one leaf column (logical path as in <see cref="RowBatch"/>).</summary>
public sealed class ColumnSummary(string path)
{
    public string Path { get; } = path;
    public long Nulls { get; internal set; }

    /// <summary>Values seen (list elements included).</summary>
    public long Values { get; internal set; }

    /// <summary>For numbers: min/max/mean of the values; for strings and binary: of their lengths; for lists: of the outer list length.</summary>
    public double? Min { get; internal set; }
    public double? Max { get; internal set; }
    public double? Mean => _n == 0 ? null : _sum / _n;

    /// <summary>Outer list length statistics, for repeated columns.</summary>
    public double? MinListLength { get; internal set; }
    public double? MaxListLength { get; internal set; }
    public double? MeanListLength => _lists == 0 ? null : _listSum / _lists;

    /// <summary>Distinct string values, counted up to <see cref="ParquetStats.DistinctLimit"/> (then null: "many").</summary>
    public long? Distinct => _distinct is null ? null : _distinct.Count;

    /// <summary>What the numbers describe: "value", "length" or "bytes".</summary>
    public string Measure { get; internal set; } = "value";

    internal HashSet<string>? _distinct = new(StringComparer.Ordinal);
    double _sum; long _n;
    double _listSum; long _lists;

    internal void AddNumber(double v)
    {
        Values++;
        _sum += v; _n++;
        Min = Min is null ? v : Math.Min(Min.Value, v);
        Max = Max is null ? v : Math.Max(Max.Value, v);
    }

    internal void AddList(int count)
    {
        _listSum += count; _lists++;
        MinListLength = MinListLength is null ? count : Math.Min(MinListLength.Value, count);
        MaxListLength = MaxListLength is null ? count : Math.Max(MaxListLength.Value, count);
    }
}

/// <summary>What <c>molmo data stats</c> reports about a Parquet file.</summary>
public sealed record ParquetFileStats(string Path, long Rows, int RowGroups, IReadOnlyList<(string Name, string Type)> Columns,
    PixmoDatasetKind? DetectedKind, string? SchemaProblem, IReadOnlyList<ColumnSummary> Summaries);

/// <summary>Streams a Parquet file once (row group by row group) and summarises every column.</summary>
public static class ParquetStats
{
    public const int DistinctLimit = 100_000;

    public static async Task<ParquetFileStats> ComputeAsync(string path, IProgress<int>? rowGroupsDone = null, CancellationToken ct = default)
    {
        await using var file = await ParquetDatasetFile.OpenAsync(path, ct).ConfigureAwait(false);
        var kind = PixmoSchemas.Detect(file.Columns.Select(c => c.Name));
        string? problem = null;
        if (kind is { } k)
        {
            try { file.Validate(k.HubName(), PixmoSchemas.For(k)); }
            catch (SchemaMismatchException e) { problem = e.Message; }
        }
        var summaries = new Dictionary<string, ColumnSummary>(StringComparer.Ordinal);
        var names = file.Columns.Select(c => c.Name).ToList();
        for (int g = 0; g < file.RowGroupCount; g++)
        {
            var batch = await file.ReadRowGroupAsync(g, names, ct).ConfigureAwait(false);
            foreach (var (leaf, values) in batch.Columns)
            {
                if (!summaries.TryGetValue(leaf, out var s)) summaries[leaf] = s = new ColumnSummary(leaf);
                foreach (var v in values) Add(s, v, outer: true);
            }
            rowGroupsDone?.Report(g + 1);
        }
        return new ParquetFileStats(path, file.RowCount, file.RowGroupCount, file.Columns, kind, problem,
            summaries.Values.OrderBy(s => s.Path, StringComparer.Ordinal).ToList());
    }

    static void Add(ColumnSummary s, object? value, bool outer)
    {
        switch (value)
        {
            case null: s.Nulls++; break;
            case string str:
                s.Measure = "length";
                s.AddNumber(str.Length);
                if (s._distinct is { } d) { d.Add(str); if (d.Count > DistinctLimit) s._distinct = null; }
                break;
            case byte[] bytes: s.Measure = "bytes"; s.AddNumber(bytes.Length); break;
            case bool b: s.AddNumber(b ? 1 : 0); break;
            case double x: s.AddNumber(x); break;
            case float x: s.AddNumber(x); break;
            case long x: s.AddNumber(x); break;
            case int x: s.AddNumber(x); break;
            case short x: s.AddNumber(x); break;
            case sbyte x: s.AddNumber(x); break;
            case byte x: s.AddNumber(x); break;
            case System.Collections.IList list:
                if (outer) s.AddList(list.Count);
                foreach (var item in list) Add(s, item, outer: false);
                break;
        }
    }
}
