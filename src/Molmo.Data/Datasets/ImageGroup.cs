namespace Molmo.Data.Datasets;

/// <summary>A row that refers to a web image by URL (every PixMo dataset except Docs and Clocks).</summary>
public interface IImageRow
{
    string ImageUrl { get; }

    /// <summary>Hex sha256 of the image bytes, where the dataset has the column.</summary>
    string? ImageSha256 { get; }
}

/// <summary>All rows of a dataset that share one image URL: one training example (pixmo-data-and-eval.md §2.2).</summary>
public sealed record ImageGroup<TRow>(string ImageUrl, string? ImageSha256, IReadOnlyList<TRow> Rows) where TRow : IImageRow;
