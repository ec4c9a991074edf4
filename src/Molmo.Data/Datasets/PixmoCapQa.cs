using Molmo.Data.Parquet;

namespace Molmo.Data.Datasets;

/// <summary>
/// A <c>pixmo-cap-qa</c> row. <see cref="Messages"/> alternates user/assistant turns (what the Molmo loader trains on);
/// <see cref="Question"/>/<see cref="Answer"/> are the first pair where the file has those columns.
/// </summary>
public sealed record PixmoCapQaRow(string ImageUrl, string? Question, string? Answer, IReadOnlyList<string> Messages) : IImageRow
{
    /// <summary>pixmo-cap-qa has no sha256 column.</summary>
    public string? ImageSha256 => null;
}

public sealed class PixmoCapQaReader : PixmoReader<PixmoCapQaRow>
{
    public override PixmoDatasetKind Kind => PixmoDatasetKind.CapQa;

    protected internal override PixmoCapQaRow? Map(RowView row)
    {
        var messages = row.StringList("messages");
        return new(row.String("image_url"), Optional(row, "question"), Optional(row, "answer"), messages);
    }

    static string? Optional(RowView row, string column) => row.TryRaw(column, out var v) ? v as string : null;
}
