using Molmo.Data.Parquet;

namespace Molmo.Data.Datasets;

/// <summary>
/// A <c>pixmo-points</c> row: every instance of <see cref="Label"/> clicked in one image.
/// <see cref="Points"/> are percent (0–100) of width/height even though the card says pixels (the official loader uses
/// <c>point_scale=100</c>). <see cref="Count"/> 0 with no points is a "not present" example.
/// <see cref="CollectionMethod"/> is <c>pointing</c> or <c>counting</c>.
/// </summary>
public sealed record PixmoPointsRow(string ImageUrl, string? ImageSha256, IReadOnlyList<PixmoPoint> Points, long Count, string Label,
    string CollectionMethod) : IImageRow
{
    public CoordinateUnit Unit => CoordinateUnit.Percent;
}

public sealed class PixmoPointsReader : PixmoReader<PixmoPointsRow>
{
    public override PixmoDatasetKind Kind => PixmoDatasetKind.Points;

    protected internal override PixmoPointsRow? Map(RowView row) =>
        new(row.String("image_url"), row.NullableString("image_sha256"), PointColumns.Points(row, "points"), row.Int64("count"),
            row.String("label"), row.String("collection_method"));
}
