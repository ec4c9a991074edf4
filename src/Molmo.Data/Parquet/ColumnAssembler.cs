namespace Molmo.Data.Parquet;

/// <summary>
/// Rebuilds per-row values of one Parquet leaf column from its definition and repetition levels
/// (the Dremel record-shredding scheme, in reverse).
/// A leaf with no repeated ancestor gives one value (or null) per row; a leaf under k repeated ancestors gives
/// k nested lists per row: <c>List&lt;object?&gt;</c> for the outer levels and <c>List&lt;TOut&gt;</c> for the innermost.
/// A missing (null) list is returned as an empty list; a null element inside a list becomes <c>default</c>.
/// </summary>
internal static class ColumnAssembler
{
    /// <param name="values">The defined (non-null) values, densely packed in order: value j belongs to the j-th entry whose
    /// definition level is the maximum. Parquet.Net sizes this buffer by the number of entries, so the tail is unused.</param>
    /// <param name="definitionLevels">Empty when the column has max definition level 0.</param>
    /// <param name="repetitionLevels">Empty when the column has no repeated ancestor.</param>
    /// <param name="maxDefinitionLevel">Definition level of a present leaf value.</param>
    /// <param name="elementDefinitionLevels">For each repeated ancestor (outermost first): the definition level at which
    /// that list has at least one element.</param>
    public static object?[] Assemble<TIn, TOut>(
        ReadOnlySpan<TIn> values, ReadOnlySpan<int> definitionLevels, ReadOnlySpan<int> repetitionLevels,
        int maxDefinitionLevel, int[] elementDefinitionLevels, long rowCount, Func<TIn, TOut> convert, string column)
    {
        int depth = elementDefinitionLevels.Length;
        // Number of level entries: the levels when present, else one per value.
        int n = definitionLevels.Length != 0 ? definitionLevels.Length : repetitionLevels.Length != 0 ? repetitionLevels.Length : values.Length;
        if (definitionLevels.Length != 0 && definitionLevels.Length != n || repetitionLevels.Length != 0 && repetitionLevels.Length != n)
            throw new InvalidDataException($"column '{column}': {definitionLevels.Length} definition levels but {repetitionLevels.Length} repetition levels");
        var rows = new object?[rowCount];
        int next = 0; // index of the next defined value

        if (depth == 0)
        {
            if (n != rowCount)
                throw new InvalidDataException($"column '{column}' has {n} entries for {rowCount} rows");
            for (int i = 0; i < n; i++)
            {
                bool present = definitionLevels.Length == 0 || definitionLevels[i] == maxDefinitionLevel;
                rows[i] = present ? convert(Next(values, ref next, column)) : null;
            }
            return rows;
        }

        if (repetitionLevels.Length == 0)
            throw new InvalidDataException($"column '{column}' is repeated but has no repetition levels");
        var stack = new object[depth + 1];
        long row = -1;
        for (int i = 0; i < n; i++)
        {
            int r = repetitionLevels[i];
            int d = definitionLevels.Length == 0 ? maxDefinitionLevel : definitionLevels[i];
            int start;
            if (r == 0)
            {
                row++;
                if (row >= rowCount)
                    throw new InvalidDataException($"column '{column}' has more rows than the row group's {rowCount}");
                var top = NewList<TOut>(1, depth);
                rows[row] = top;
                stack[1] = top;
                start = 1;
            }
            else
            {
                if (row < 0 || r > depth)
                    throw new InvalidDataException($"column '{column}': invalid repetition level {r} at entry {i}");
                start = r;
            }
            for (int k = start; k <= depth; k++)
            {
                if (d < elementDefinitionLevels[k - 1]) break; // the list at depth k is empty (or null)
                if (k == depth)
                {
                    ((List<TOut>)stack[k]).Add(d == maxDefinitionLevel ? convert(Next(values, ref next, column)) : default!);
                }
                else
                {
                    var child = NewList<TOut>(k + 1, depth);
                    ((List<object?>)stack[k]).Add(child);
                    stack[k + 1] = child;
                }
            }
        }
        if (row + 1 != rowCount)
            throw new InvalidDataException($"column '{column}' has {row + 1} rows, the row group says {rowCount}");
        return rows;
    }

    static TIn Next<TIn>(ReadOnlySpan<TIn> values, ref int next, string column)
    {
        if (next >= values.Length)
            throw new InvalidDataException($"column '{column}': more defined entries than the {values.Length} values read");
        return values[next++];
    }

    static object NewList<TOut>(int level, int depth) => level == depth ? new List<TOut>() : new List<object?>();
}
