namespace Molmo.Data.Parquet;

/// <summary>Typed access to one row of a <see cref="RowBatch"/>; errors name the file, row and column.</summary>
public readonly struct RowView(RowBatch batch, int index)
{
    public long RowNumber => batch.FirstRow + index;

    public object? Raw(string path) => batch.Value(path, index);

    /// <summary>The value of a column that may not have been read (optional columns).</summary>
    public bool TryRaw(string path, out object? value)
    {
        value = null;
        if (!batch.Columns.TryGetValue(path, out var values)) return false;
        value = values[index];
        return true;
    }

    public bool IsNull(string path) => Raw(path) is null;

    public string String(string path) => Raw(path) as string ?? throw Bad(path, "a string", "null");

    public string? NullableString(string path) => Raw(path) as string;

    public long Int64(string path) => Raw(path) switch
    {
        long l => l,
        int i => i,
        short s => s,
        sbyte b => b,
        null => throw Bad(path, "an integer", "null"),
        var o => throw Bad(path, "an integer", o.GetType().Name),
    };

    public double Double(string path) => Raw(path) switch
    {
        double d => d,
        float f => f,
        null => throw Bad(path, "a number", "null"),
        var o => throw Bad(path, "a number", o.GetType().Name),
    };

    public bool Bool(string path) => Raw(path) as bool? ?? throw Bad(path, "a bool", "null");

    public byte[] Binary(string path) => Raw(path) as byte[] ?? throw Bad(path, "bytes", "null");

    public IReadOnlyList<string> StringList(string path) => Raw(path) switch
    {
        List<string> l => l,
        null => [],
        var o => throw Bad(path, "a list of strings", o.GetType().Name),
    };

    /// <summary>A flat list of numbers (float32 or float64 leaves) as doubles.</summary>
    public IReadOnlyList<double> DoubleList(string path) => ToDoubles(Raw(path), path);

    /// <summary>A list of lists of numbers as doubles.</summary>
    public IReadOnlyList<IReadOnlyList<double>> DoubleListList(string path)
    {
        var self = this;
        return Raw(path) switch
        {
            List<object?> outer => outer.Select(inner => self.ToDoubles(inner, path)).ToList(),
            null => [],
            var o => throw Bad(path, "a list of lists of numbers", o.GetType().Name),
        };
    }


    IReadOnlyList<double> ToDoubles(object? value, string path) => value switch
    {
        List<double> d => d,
        List<float> f => f.Select(x => (double)x).ToList(),
        null => [],
        var o => throw Bad(path, "a list of numbers", o.GetType().Name),
    };

    InvalidDataException Bad(string path, string expected, string got) =>
        new($"{batch.File}, row {RowNumber}: column '{path}' should hold {expected} but holds {got}");
}
