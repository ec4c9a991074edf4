namespace Molmo.Data.Parquet;

/// <summary>
/// The rows of one Parquet row group, column by column. Keys are logical column paths: the top-level column name,
/// then struct member names joined with '.', with list wrappers left out (<c>points.x</c> for both
/// <c>list&lt;struct&lt;x, y&gt;&gt;</c> and <c>struct&lt;x: list, y: list&gt;</c>).
/// </summary>
public sealed class RowBatch(string file, int rowGroup, long firstRow, int rowCount, IReadOnlyDictionary<string, object?[]> columns)
{
    public string File { get; } = file;
    public int RowGroup { get; } = rowGroup;

    /// <summary>Index in the whole file of this batch's first row.</summary>
    public long FirstRow { get; } = firstRow;
    public int RowCount { get; } = rowCount;
    public IReadOnlyDictionary<string, object?[]> Columns { get; } = columns;

    public RowView Row(int index) => new(this, index);

    internal object? Value(string path, int row)
    {
        if (!Columns.TryGetValue(path, out var values))
            throw new KeyNotFoundException($"{File}: column '{path}' was not read (available: {string.Join(", ", Columns.Keys)})");
        return values[row];
    }
}
