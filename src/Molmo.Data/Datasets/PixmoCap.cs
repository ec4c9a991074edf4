using Molmo.Data.Parquet;

namespace Molmo.Data.Datasets;

/// <summary>A <c>pixmo-cap</c> row: the LLM-written caption and the raw spoken transcripts it came from.</summary>
public sealed record PixmoCapRow(string ImageUrl, string Caption, IReadOnlyList<string> Transcripts) : IImageRow
{
    /// <summary>pixmo-cap has no sha256 column.</summary>
    public string? ImageSha256 => null;
}

public sealed class PixmoCapReader : PixmoReader<PixmoCapRow>
{
    public override PixmoDatasetKind Kind => PixmoDatasetKind.Cap;

    protected internal override PixmoCapRow? Map(RowView row) =>
        new(row.String("image_url"), row.String("caption"), row.StringList("transcripts"));
}
