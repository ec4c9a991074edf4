namespace Molmo.Data.Parquet;

/// <summary>A Parquet file does not have the columns (or column types) a PixMo reader expects.</summary>
public sealed class SchemaMismatchException(string message, string file, string column) : FormatException(message)
{
    /// <summary>The file that was opened.</summary>
    public string File { get; } = file;

    /// <summary>The column that is missing or has the wrong type.</summary>
    public string Column { get; } = column;
}
