using Molmo.Data.Parquet;

namespace Molmo.Data.Images;

/// <summary>Builds the image download list of a PixMo Parquet file from its <c>image_url</c> (and <c>image_sha256</c>) columns.</summary>
public static class ImageRequests
{
    /// <summary>
    /// Reads only the URL and sha columns, row group by row group. Fails with a clear message for files without image URLs
    /// (pixmo-docs embeds its images; pixmo-clocks has none).
    /// </summary>
    public static async Task<IReadOnlyList<ImageRequest>> FromParquetAsync(IEnumerable<string> paths, CancellationToken ct = default)
    {
        var all = new List<ImageRequest>();
        foreach (var path in paths) all.AddRange(await FromParquetAsync(path, ct).ConfigureAwait(false));
        return all;
    }

    /// <inheritdoc cref="FromParquetAsync(IEnumerable{string}, CancellationToken)"/>
    public static async Task<IReadOnlyList<ImageRequest>> FromParquetAsync(string path, CancellationToken ct = default)
    {
        await using var file = await ParquetDatasetFile.OpenAsync(path, ct).ConfigureAwait(false);
        var urlType = file.ColumnTypeOf("image_url");
        if (urlType is null)
            throw new SchemaMismatchException(
                $"{path}: no 'image_url' column, so there is nothing to download (pixmo-docs embeds its images and pixmo-clocks has none); " +
                $"columns: {string.Join(", ", file.Columns.Select(c => c.Name))}", path, "image_url");
        if (urlType != "string") throw new SchemaMismatchException($"{path}: column 'image_url' has type {urlType}, expected string", path, "image_url");
        var shaType = file.ColumnTypeOf("image_sha256");
        if (shaType is not null and not "string")
            throw new SchemaMismatchException($"{path}: column 'image_sha256' has type {shaType}, expected string", path, "image_sha256");
        string[] columns = shaType is null ? ["image_url"] : ["image_url", "image_sha256"];
        var requests = new List<ImageRequest>();
        for (int g = 0; g < file.RowGroupCount; g++)
        {
            var batch = await file.ReadRowGroupAsync(g, columns, ct).ConfigureAwait(false);
            for (int i = 0; i < batch.RowCount; i++)
            {
                var row = batch.Row(i);
                var url = row.NullableString("image_url");
                if (string.IsNullOrEmpty(url)) continue;
                requests.Add(new ImageRequest(url, shaType is null ? null : row.NullableString("image_sha256")));
            }
        }
        return requests;
    }
}
