using Parquet;
using Parquet.Data;
using Parquet.Meta;
using Parquet.Schema;

namespace Molmo.Data.Parquet;

/// <summary>
/// A Parquet file read one row group at a time (never the whole file in memory), with only the columns asked for.
/// Nested columns come back per row as nested lists (see <see cref="RowBatch"/>).
/// </summary>
public sealed class ParquetDatasetFile : IAsyncDisposable
{
    readonly ParquetReader _reader;
    readonly Dictionary<string, Leaf> _leaves; // logical path → leaf
    readonly long[] _rowGroupStarts;

    sealed record Leaf(string LogicalPath, string TopColumn, DataField Field, int MaxDefinitionLevel, int[] ElementDefinitionLevels);

    public string Path { get; }
    public ParquetSchema Schema => _reader.Schema;
    public int RowGroupCount => _reader.RowGroupCount;
    public long RowCount { get; }

    /// <summary>Top-level columns with their Arrow-style types (<see cref="ColumnType"/>).</summary>
    public IReadOnlyList<(string Name, string Type)> Columns { get; }

    ParquetDatasetFile(string path, ParquetReader reader)
    {
        Path = path;
        _reader = reader;
        Columns = reader.Schema.Fields.Select(f => (f.Name, ColumnType.Describe(f))).ToList();
        var levels = LevelsByPhysicalPath(reader.Metadata ?? throw new InvalidDataException($"{path}: Parquet footer has no metadata"));
        _leaves = new Dictionary<string, Leaf>(StringComparer.Ordinal);
        foreach (var top in reader.Schema.Fields)
            CollectLeaves(top, top.Name, top.Name, levels);
        _rowGroupStarts = new long[reader.RowGroupCount + 1];
        for (int i = 0; i < reader.RowGroupCount; i++)
            _rowGroupStarts[i + 1] = _rowGroupStarts[i] + reader.OpenRowGroupReader(i).RowCount;
        RowCount = _rowGroupStarts[^1];
    }

    public static async Task<ParquetDatasetFile> OpenAsync(string path, CancellationToken ct = default)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Parquet file not found: {path}", path);
        ParquetReader reader;
        try
        {
            reader = await ParquetReader.CreateAsync(path, new ParquetOptions(), ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidDataException($"{path} is not a readable Parquet file: {e.Message}", e);
        }
        try { return new ParquetDatasetFile(path, reader); }
        catch { await reader.DisposeAsync().ConfigureAwait(false); throw; }
    }

    /// <summary>Rows in row group <paramref name="index"/>.</summary>
    public long RowGroupRowCount(int index) => _rowGroupStarts[index + 1] - _rowGroupStarts[index];

    /// <summary>The Arrow-style type of a top-level column, or null when the file has no such column.</summary>
    public string? ColumnTypeOf(string name) => Columns.FirstOrDefault(c => c.Name == name).Type;

    /// <summary>
    /// Checks that every expected column exists with one of its accepted types.
    /// Throws <see cref="SchemaMismatchException"/> naming the first column that does not match.
    /// </summary>
    public void Validate(string datasetName, IEnumerable<ExpectedColumn> expected)
    {
        foreach (var col in expected)
        {
            var actual = ColumnTypeOf(col.Name);
            if (actual is null)
            {
                if (col.Optional) continue;
                throw new SchemaMismatchException(
                    $"{Path}: column '{col.Name}' required by the {datasetName} reader is missing " +
                    $"(expected {string.Join(" or ", col.AcceptedTypes)}; the file has: {string.Join(", ", Columns.Select(c => c.Name))})",
                    Path, col.Name);
            }
            if (!col.AcceptedTypes.Contains(actual, StringComparer.Ordinal))
                throw new SchemaMismatchException(
                    $"{Path}: column '{col.Name}' has type {actual}, but the {datasetName} reader expects {string.Join(" or ", col.AcceptedTypes)}",
                    Path, col.Name);
        }
    }

    /// <summary>Reads the given top-level columns of one row group.</summary>
    public async Task<RowBatch> ReadRowGroupAsync(int index, IEnumerable<string> topColumns, CancellationToken ct = default)
    {
        if (index < 0 || index >= RowGroupCount)
            throw new ArgumentOutOfRangeException(nameof(index), $"{Path} has {RowGroupCount} row groups; asked for {index}");
        var wanted = topColumns.ToHashSet(StringComparer.Ordinal);
        foreach (var w in wanted)
            if (ColumnTypeOf(w) is null) throw new SchemaMismatchException($"{Path}: no column '{w}'", Path, w);
        var rg = _reader.OpenRowGroupReader(index);
        long rows = rg.RowCount;
        var columns = new Dictionary<string, object?[]>(StringComparer.Ordinal);
        foreach (var leaf in _leaves.Values.Where(l => wanted.Contains(l.TopColumn)))
        {
            ct.ThrowIfCancellationRequested();
            columns[leaf.LogicalPath] = await ReadLeafAsync(rg, leaf, rows, ct).ConfigureAwait(false);
        }
        return new RowBatch(Path, index, _rowGroupStarts[index], checked((int)rows), columns);
    }

    /// <summary>All row groups in order, one batch at a time.</summary>
    public async IAsyncEnumerable<RowBatch> ReadBatchesAsync(IReadOnlyCollection<string> topColumns,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        for (int i = 0; i < RowGroupCount; i++)
            yield return await ReadRowGroupAsync(i, topColumns, ct).ConfigureAwait(false);
    }

    async Task<object?[]> ReadLeafAsync(ParquetRowGroupReader rg, Leaf leaf, long rows, CancellationToken ct)
    {
        using var raw = await rg.ReadRawColumnDataBaseAsync(leaf.Field, ct).ConfigureAwait(false);
        ReadOnlySpan<int> def = leaf.MaxDefinitionLevel > 0 ? raw.DefinitionLevels : default;
        ReadOnlySpan<int> rep = leaf.ElementDefinitionLevels.Length > 0 ? raw.RepetitionLevels : default;
        int maxDef = leaf.MaxDefinitionLevel;
        int[] el = leaf.ElementDefinitionLevels;
        string name = leaf.LogicalPath;
        return raw switch
        {
            RawColumnData<ReadOnlyMemory<char>> s => ColumnAssembler.Assemble(s.Values, def, rep, maxDef, el, rows, m => m.ToString(), name),
            RawColumnData<ReadOnlyMemory<byte>> b => ColumnAssembler.Assemble(b.Values, def, rep, maxDef, el, rows, m => m.ToArray(), name),
            RawColumnData<double> d => ColumnAssembler.Assemble(d.Values, def, rep, maxDef, el, rows, v => v, name),
            RawColumnData<float> f => ColumnAssembler.Assemble(f.Values, def, rep, maxDef, el, rows, v => v, name),
            RawColumnData<long> l => ColumnAssembler.Assemble(l.Values, def, rep, maxDef, el, rows, v => v, name),
            RawColumnData<int> i => ColumnAssembler.Assemble(i.Values, def, rep, maxDef, el, rows, v => v, name),
            RawColumnData<short> h => ColumnAssembler.Assemble(h.Values, def, rep, maxDef, el, rows, v => v, name),
            RawColumnData<sbyte> sb => ColumnAssembler.Assemble(sb.Values, def, rep, maxDef, el, rows, v => v, name),
            RawColumnData<byte> ub => ColumnAssembler.Assemble(ub.Values, def, rep, maxDef, el, rows, v => v, name),
            RawColumnData<bool> z => ColumnAssembler.Assemble(z.Values, def, rep, maxDef, el, rows, v => v, name),
            _ => throw new NotSupportedException($"{Path}: column '{name}' has an unsupported element type {leaf.Field.ClrType.Name}"),
        };
    }

    void CollectLeaves(Field field, string logical, string top, Dictionary<string, (int MaxDef, int[] ElementDefs)> levels)
    {
        switch (field)
        {
            case ListField list:
                CollectLeaves(list.Item, logical, top, levels);
                break;
            case StructField st:
                foreach (var child in st.Fields) CollectLeaves(child, logical + "." + child.Name, top, levels);
                break;
            case DataField data:
                var key = string.Join("/", data.Path.ToList());
                if (!levels.TryGetValue(key, out var lv))
                    throw new InvalidDataException($"{Path}: leaf column '{key}' is not in the file's schema elements");
                _leaves[logical] = new Leaf(logical, top, data, lv.MaxDef, lv.ElementDefs);
                break;
            default:
                // Maps are not used by any PixMo dataset; their columns are left unread.
                break;
        }
    }

    /// <summary>Walks the footer's flattened schema to get, per leaf, the max definition level and the definition
    /// level at which each repeated ancestor holds an element.</summary>
    static Dictionary<string, (int MaxDef, int[] ElementDefs)> LevelsByPhysicalPath(FileMetaData meta)
    {
        var result = new Dictionary<string, (int, int[])>(StringComparer.Ordinal);
        var elements = meta.Schema;
        int pos = 1; // element 0 is the root
        int rootChildren = elements[0].NumChildren ?? 0;
        for (int c = 0; c < rootChildren; c++) Walk([], 0, []);
        return result;

        void Walk(List<string> parentPath, int parentDef, List<int> parentRepDefs)
        {
            var el = elements[pos++];
            int def = parentDef + (el.RepetitionType is FieldRepetitionType.OPTIONAL or FieldRepetitionType.REPEATED ? 1 : 0);
            var repDefs = parentRepDefs;
            if (el.RepetitionType == FieldRepetitionType.REPEATED) repDefs = [.. parentRepDefs, def];
            var path = new List<string>(parentPath) { el.Name };
            int children = el.NumChildren ?? 0;
            if (children == 0) result[string.Join("/", path)] = (def, repDefs.ToArray());
            for (int c = 0; c < children; c++) Walk(path, def, repDefs);
        }
    }

    public ValueTask DisposeAsync() => _reader.DisposeAsync();
}
