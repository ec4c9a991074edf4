using Molmo.Data.Parquet;

namespace Molmo.Data.Datasets;

/// <summary>Reads point columns (<c>points.x</c> / <c>points.y</c> leaves) into <see cref="PixmoPoint"/> lists.</summary>
internal static class PointColumns
{
    public static IReadOnlyList<PixmoPoint> Points(RowView row, string column)
    {
        var xs = row.DoubleList(column + ".x");
        var ys = row.DoubleList(column + ".y");
        if (xs.Count != ys.Count)
            throw new InvalidDataException($"row {row.RowNumber}: column '{column}' has {xs.Count} x values but {ys.Count} y values");
        var points = new PixmoPoint[xs.Count];
        for (int i = 0; i < points.Length; i++) points[i] = new PixmoPoint(xs[i], ys[i]);
        return points;
    }

    public static IReadOnlyList<IReadOnlyList<PixmoPoint>> PointLists(RowView row, string column)
    {
        var xs = row.DoubleListList(column + ".x");
        var ys = row.DoubleListList(column + ".y");
        if (xs.Count != ys.Count)
            throw new InvalidDataException($"row {row.RowNumber}: column '{column}' has {xs.Count} x lists but {ys.Count} y lists");
        var result = new IReadOnlyList<PixmoPoint>[xs.Count];
        for (int k = 0; k < xs.Count; k++)
        {
            if (xs[k].Count != ys[k].Count)
                throw new InvalidDataException($"row {row.RowNumber}: column '{column}' list {k} has {xs[k].Count} x values but {ys[k].Count} y values");
            result[k] = xs[k].Zip(ys[k], (x, y) => new PixmoPoint(x, y)).ToArray();
        }
        return result;
    }
}
