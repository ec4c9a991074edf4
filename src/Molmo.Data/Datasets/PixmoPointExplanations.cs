using Molmo.Data.Parquet;

namespace Molmo.Data.Datasets;

/// <summary>
/// A <c>pixmo-point-explanations</c> row. <see cref="ParsedResponse"/> contains one literal <c>&lt;|POINT|&gt;</c> placeholder per
/// annotation; annotation k is (<see cref="Points"/>[k] in percent, <see cref="InlineText"/>[k], <see cref="AltText"/>[k]).
/// </summary>
public sealed record PixmoPointExplanationsRow(string ImageUrl, string? ImageSha256, string Question, string ParsedResponse,
    IReadOnlyList<string> InlineText, IReadOnlyList<string> AltText, IReadOnlyList<IReadOnlyList<PixmoPoint>> Points) : IImageRow
{
    public const string Placeholder = "<|POINT|>";
    public CoordinateUnit Unit => CoordinateUnit.Percent;
}

/// <summary>Reads point explanations; like the official loader it drops rows whose <c>parsed_response</c> is null.</summary>
public sealed class PixmoPointExplanationsReader : PixmoReader<PixmoPointExplanationsRow>
{
    public override PixmoDatasetKind Kind => PixmoDatasetKind.PointExplanations;

    protected internal override PixmoPointExplanationsRow? Map(RowView row)
    {
        var response = row.NullableString("parsed_response");
        if (response is null) return null;
        return new(row.String("image_url"), row.NullableString("image_sha256"), row.String("question"), response,
            row.StringList("inline_text"), row.StringList("alt_text"), PointColumns.PointLists(row, "points"));
    }
}
