using Molmo.Data.Parquet;

namespace Molmo.Data.Datasets;

/// <summary>A <c>pixmo-ask-model-anything</c> row: one human question and its accepted answer.</summary>
public sealed record PixmoAskModelAnythingRow(string ImageUrl, string? ImageSha256, string Question, string Answer) : IImageRow
{
}

public sealed class PixmoAskModelAnythingReader : PixmoReader<PixmoAskModelAnythingRow>
{
    public override PixmoDatasetKind Kind => PixmoDatasetKind.AskModelAnything;

    protected internal override PixmoAskModelAnythingRow? Map(RowView row) =>
        new(row.String("image_url"), row.NullableString("image_sha256"), row.String("question"), row.String("answer"));
}
