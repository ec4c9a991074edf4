using System.Runtime.CompilerServices;
using Molmo.Data.Parquet;

namespace Molmo.Data.Datasets;

/// <summary>
/// Reads one PixMo dataset from its released Parquet file(s) as typed records, one row group at a time.
/// The file's schema is checked first; a missing column or a wrong type fails with a <see cref="SchemaMismatchException"/>
/// that names the column.
/// </summary>
public abstract class PixmoReader<TRow>
{
    public abstract PixmoDatasetKind Kind { get; }

    /// <summary>The columns this reader checks and reads.</summary>
    public virtual IReadOnlyList<ExpectedColumn> Columns => PixmoSchemas.For(Kind);

    /// <summary>Maps one row to a record, or returns null to drop it (as the official loader does, e.g. a null answer).</summary>
    protected internal abstract TRow? Map(RowView row);

    /// <summary>Rows dropped by <see cref="Map"/> in the last read, for reporting.</summary>
    public long DroppedRows { get; private set; }

    /// <summary>Opens <paramref name="path"/>, checks its schema and yields every kept row in file order.</summary>
    public async IAsyncEnumerable<TRow> ReadAsync(string path, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await using var file = await OpenAsync(path, ct).ConfigureAwait(false);
        await foreach (var row in ReadAsync(file, ct).ConfigureAwait(false))
            yield return row;
    }

    /// <summary>Yields every kept row of an already opened file (its schema is checked first).</summary>
    public async IAsyncEnumerable<TRow> ReadAsync(ParquetDatasetFile file, [EnumeratorCancellation] CancellationToken ct = default)
    {
        file.Validate(Kind.HubName(), Columns);
        DroppedRows = 0;
        var names = ColumnsToRead(file);
        for (int g = 0; g < file.RowGroupCount; g++)
        {
            var batch = await file.ReadRowGroupAsync(g, names, ct).ConfigureAwait(false);
            for (int i = 0; i < batch.RowCount; i++)
            {
                var mapped = Map(batch.Row(i));
                if (mapped is null) DroppedRows++;
                else yield return mapped;
            }
        }
    }

    /// <summary>Opens and validates a file for this dataset.</summary>
    public async Task<ParquetDatasetFile> OpenAsync(string path, CancellationToken ct = default)
    {
        var file = await ParquetDatasetFile.OpenAsync(path, ct).ConfigureAwait(false);
        try { file.Validate(Kind.HubName(), Columns); }
        catch { await file.DisposeAsync().ConfigureAwait(false); throw; }
        return file;
    }

    /// <summary>The top-level columns to read: the expected ones the file has (optional ones may be absent).</summary>
    protected internal virtual IReadOnlyCollection<string> ColumnsToRead(ParquetDatasetFile file) =>
        Columns.Where(c => file.ColumnTypeOf(c.Name) is not null).Select(c => c.Name).ToList();
}
