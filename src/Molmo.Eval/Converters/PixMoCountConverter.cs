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
        var index = new ImageIndex(images);
        var items = new List<BenchmarkItem>();
        int skipped = 0;
        foreach (var input in r.Inputs)
        {
            int n = 0;
            foreach (var row in ParquetRows.Read(input))
            {
                var id = $"{Path.GetFileNameWithoutExtension(input)}-{n++}";
                var path = index.Find(ParquetRows.Text(row, "image_sha256"), ParquetRows.Text(row, "image_url"));
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
