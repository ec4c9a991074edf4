using System.Runtime.CompilerServices;

namespace Molmo.Data.Datasets;

/// <summary>
/// Groups rows per image URL like the official loader (<c>filter_and_group_data</c>), without loading the files:
/// a first pass reads only the <c>image_url</c> column to count rows per URL; the second pass streams the rows and
/// yields a group as soon as its last row has been read. Only groups still waiting for rows are held in memory
/// (rows of one image are usually adjacent, so that is little).
/// Groups therefore come out in the order of their <em>last</em> row. Rows the reader drops (e.g. a null answer)
/// are left out of their group; a group with no rows left is not yielded.
/// </summary>
public static class ImageGrouping
{
    public static IAsyncEnumerable<ImageGroup<TRow>> ReadGroupedAsync<TRow>(this PixmoReader<TRow> reader, string path,
        CancellationToken ct = default) where TRow : IImageRow => reader.ReadGroupedAsync([path], ct);

    /// <summary>Groups across several shards of one dataset (an image's rows may sit in different files).</summary>
    public static async IAsyncEnumerable<ImageGroup<TRow>> ReadGroupedAsync<TRow>(this PixmoReader<TRow> reader, IReadOnlyList<string> paths,
        [EnumeratorCancellation] CancellationToken ct = default) where TRow : IImageRow
    {
        var remaining = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            await using var file = await reader.OpenAsync(path, ct).ConfigureAwait(false);
            for (int g = 0; g < file.RowGroupCount; g++)
            {
                var urls = await file.ReadRowGroupAsync(g, ["image_url"], ct).ConfigureAwait(false);
                for (int i = 0; i < urls.RowCount; i++)
                {
                    var url = urls.Row(i).NullableString("image_url") ?? "";
                    remaining[url] = remaining.GetValueOrDefault(url) + 1;
                }
            }
        }

        var pending = new Dictionary<string, List<TRow>>(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            await using var file = await reader.OpenAsync(path, ct).ConfigureAwait(false);
            // The URL is read again with the mapped columns so that dropped rows still count towards completion.
            var columns = reader.ColumnsToRead(file).Append("image_url").Distinct().ToList();
            for (int g = 0; g < file.RowGroupCount; g++)
            {
                var batch = await file.ReadRowGroupAsync(g, columns, ct).ConfigureAwait(false);
                for (int i = 0; i < batch.RowCount; i++)
                {
                    var view = batch.Row(i);
                    var url = view.NullableString("image_url") ?? "";
                    var row = reader.Map(view);
                    if (!pending.TryGetValue(url, out var rows)) pending[url] = rows = [];
                    if (row is not null) rows.Add(row);
                    if (--remaining[url] == 0)
                    {
                        pending.Remove(url);
                        remaining.Remove(url);
                        if (rows.Count > 0)
                            yield return new ImageGroup<TRow>(url, rows.Select(r => r.ImageSha256).FirstOrDefault(s => s is not null), rows);
                    }
                }
            }
        }
    }
}
