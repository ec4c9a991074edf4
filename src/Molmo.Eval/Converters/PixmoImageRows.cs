using Molmo.Eval.Benchmarks;

namespace Molmo.Eval.Converters;

/// <summary>One row of a PixMo Parquet input whose image was found in the images folder.</summary>
internal sealed record PixmoImageRow(string Id, string Where, string ImagePath, IDictionary<string, object?> Row);

/// <summary>
/// The walk both PixMo converters share: every row of every input, its id "{file}-{row}", and its image looked up in
/// --images by sha256 or URL file name; rows whose image is missing are counted, not returned.
/// </summary>
internal sealed class PixmoImageRows(ConvertRequest request, string format)
{
    readonly string _images = ConverterIo.NeedDir(request.ImagesDir, format);

    public int Skipped { get; private set; }

    public IEnumerable<PixmoImageRow> Rows()
    {
        var index = new ImageIndex(_images);
        foreach (var input in request.Inputs)
        {
            int n = 0;
            foreach (var row in ParquetRows.Read(input))
            {
                int k = n++;
                var path = index.Find(ParquetRows.Text(row, "image_sha256"), ParquetRows.Text(row, "image_url"));
                if (path == null) { Skipped++; continue; }
                yield return new PixmoImageRow($"{Path.GetFileNameWithoutExtension(input)}-{k}", $"{input} row {k}", path, row);
            }
        }
    }

    public List<string> Notes() =>
        Skipped > 0 ? [$"{Skipped} row(s) skipped: image not found in {_images} (by sha256 or URL file name)"] : [];
}
