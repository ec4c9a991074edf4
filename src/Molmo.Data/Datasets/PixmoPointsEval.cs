using Molmo.Data.Parquet;

namespace Molmo.Data.Datasets;

/// <summary>One ground-truth mask of <c>pixmo-points-eval</c>: a Height×Width boolean image at the original resolution.</summary>
public sealed class PointMask(int height, int width, bool[] pixels)
{
    public int Height { get; } = height;
    public int Width { get; } = width;

    /// <summary>Row-major pixels, <c>Pixels[y * Width + x]</c>.</summary>
    public bool[] Pixels { get; } = pixels;

    public bool this[int y, int x] => Pixels[y * Width + x];

    /// <summary>Whether a percent point falls on the mask.</summary>
    public bool ContainsPercent(PixmoPoint p)
    {
        int x = (int)Math.Floor(p.X / 100.0 * Width), y = (int)Math.Floor(p.Y / 100.0 * Height);
        return x >= 0 && y >= 0 && x < Width && y < Height && this[y, x];
    }
}

/// <summary>
/// A <c>pixmo-points-eval</c> row: the label, the percent points and one mask per point.
/// Some rows have no points (the target is absent). <see cref="Masks"/> is empty when the reader was told not to load them.
/// </summary>
public sealed record PixmoPointsEvalRow(string ImageUrl, string? ImageSha256, string Label, IReadOnlyList<PixmoPoint> Points,
    IReadOnlyList<PointMask> Masks) : IImageRow
{
    public CoordinateUnit Unit => CoordinateUnit.Percent;
}

/// <param name="loadMasks">Masks are full-resolution boolean images; pass false to skip that (large) column.</param>
public sealed class PixmoPointsEvalReader(bool loadMasks = true) : PixmoReader<PixmoPointsEvalRow>
{
    public override PixmoDatasetKind Kind => PixmoDatasetKind.PointsEval;

    protected internal override IReadOnlyCollection<string> ColumnsToRead(ParquetDatasetFile file) =>
        base.ColumnsToRead(file).Where(c => loadMasks || c != "masks").ToList();

    protected internal override PixmoPointsEvalRow? Map(RowView row) =>
        new(row.String("image_url"), row.NullableString("image_sha256"), row.String("label"), PointColumns.Points(row, "points"),
            loadMasks ? Masks(row) : []);

    static IReadOnlyList<PointMask> Masks(RowView row)
    {
        if (row.Raw("masks") is not List<object?> masks) return [];
        var result = new List<PointMask>(masks.Count);
        for (int m = 0; m < masks.Count; m++)
        {
            var rows = masks[m] as List<object?> ?? [];
            int height = rows.Count, width = height == 0 ? 0 : ((List<bool>)rows[0]!).Count;
            var pixels = new bool[height * width];
            for (int y = 0; y < height; y++)
            {
                var line = (List<bool>)rows[y]!;
                if (line.Count != width)
                    throw new InvalidDataException($"row {row.RowNumber}: mask {m} row {y} has {line.Count} pixels, row 0 has {width}");
                line.CopyTo(pixels, y * width);
            }
            result.Add(new PointMask(height, width, pixels));
        }
        return result;
    }
}
