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
        var source = new PixmoImageRows(r, "pixmo_count");
        var items = new List<BenchmarkItem>();
        foreach (var (id, where, path, row) in source.Rows())
        {
            var count = ParquetRows.Integer(row, "count") ?? throw new InvalidDataException($"{where}: no \"count\"");
            items.Add(new BenchmarkItem
            {
                Id = id, ImagePath = path, Label = ParquetRows.Text(row, "label"),
                Answer = count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            });
        }
        return BenchmarkConverters.Finish(r, items, source.Skipped, source.Notes());
    }
}
