using Molmo.Data.Parquet;

namespace Molmo.Data.Datasets;

/// <summary>
/// A <c>pixmo-count</c> row. Unlike the other point datasets, <see cref="Points"/> are <b>pixels</b> of the original image
/// (box centres from the detector), and they are empty in the validation and test splits (those carry only the count).
/// Use <see cref="PercentPoints"/> with the downloaded image's size to get the 0–100 coordinates the model is trained on.
/// </summary>
public sealed record PixmoCountRow(string ImageUrl, string? ImageSha256, long Count, IReadOnlyList<PixmoPoint> Points, string Label) : IImageRow
{
    public CoordinateUnit Unit => CoordinateUnit.Pixels;

    public IReadOnlyList<PixmoPoint> PercentPoints(int imageWidth, int imageHeight) =>
        Points.Select(p => p.PixelsToPercent(imageWidth, imageHeight)).ToArray();
}

public sealed class PixmoCountReader : PixmoReader<PixmoCountRow>
{
    public override PixmoDatasetKind Kind => PixmoDatasetKind.Count;

    protected internal override PixmoCountRow? Map(RowView row) =>
        new(row.String("image_url"), row.NullableString("image_sha256"), row.Int64("count"), PointColumns.Points(row, "points"), row.String("label"));
}
