using Molmo.Eval.Benchmarks;

namespace Molmo.Eval.Converters;

/// <summary>
/// PixMo-Count: the <c>allenai/pixmo-count</c> Parquet (image_url, image_sha256, count, points, label). Images are not in
/// the Parquet; --images must hold the downloaded files, named by their sha256 (any extension) or by the URL's file name.
/// Rows whose image is missing are skipped. The prompt is built from the label ("How many {label} are there?").
/// Ids are "{file}-{row}".
/// </summary>
public static class PixMoCountConverter
{
    public static ConversionResult Convert(ConvertRequest r)
    {
        var images = ConverterIo.NeedDir(r.ImagesDir, "pixmo_count");
        var byStem = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var f in Directory.EnumerateFiles(images))
        {
            byStem.TryAdd(Path.GetFileNameWithoutExtension(f), f);
            byStem.TryAdd(Path.GetFileName(f), f);
        }
        var items = new List<BenchmarkItem>();
        int skipped = 0;
        foreach (var input in r.Inputs)
        {
            int n = 0;
            foreach (var row in ParquetRows.Read(input))
            {
                var id = $"{Path.GetFileNameWithoutExtension(input)}-{n++}";
                var sha = ParquetRows.Text(row, "image_sha256");
                var url = ParquetRows.Text(row, "image_url");
                string? path = null;
                if (sha != null) byStem.TryGetValue(sha, out path);
                if (path == null && url != null)
                {
                    var name = Uri.TryCreate(url, UriKind.Absolute, out var u) ? Path.GetFileName(u.LocalPath) : Path.GetFileName(url);
                    if (name.Length > 0) byStem.TryGetValue(name, out path);
                }
                if (path == null) { skipped++; continue; }
                var count = ParquetRows.Integer(row, "count") ?? throw new InvalidDataException($"{input} row {n}: no \"count\"");
                items.Add(new BenchmarkItem
                {
                    Id = id, ImagePath = path, Label = ParquetRows.Text(row, "label"),
                    Answer = count.ToString(System.Globalization.CultureInfo.InvariantCulture),
                });
            }
        }
        var notes = skipped > 0 ? new List<string> { $"{skipped} row(s) skipped: image not found in {images} (by sha256 or URL file name)" } : [];
        return BenchmarkConverters.Finish(r, items, skipped, notes);
    }
}
