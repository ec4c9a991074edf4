using System.Collections;
using Molmo.Eval.Benchmarks;
using Molmo.Eval.Scoring;
using SkiaSharp;

namespace Molmo.Eval.Converters;

/// <summary>
/// PixMo-Points-Eval: the <c>allenai/pixmo-points-eval</c> Parquet (image_url, image_sha256, label, points [{x, y}] in
/// percent, masks: one H×W boolean mask per point). Images come from --images (named by sha256 or URL file name); rows
/// whose image is missing are skipped. Each mask is written as a black/white PNG to <c>&lt;out-name&gt;_masks/</c>.
/// Ids are "{file}-{row}".
/// </summary>
public static class PixMoPointsEvalConverter
{
    public static ConversionResult Convert(ConvertRequest r)
    {
        var source = new PixmoImageRows(r, "pixmo_points_eval");
        var maskDir = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(r.OutputPath))!, Path.GetFileNameWithoutExtension(r.OutputPath) + "_masks");
        var items = new List<BenchmarkItem>();
        foreach (var (id, where, path, row) in source.Rows())
        {
            var points = ReadPoints(row, where);
            var masks = new List<MaskReference>();
            int? width = null, height = null;
            if (row.TryGetValue("masks", out var mv) && mv is IEnumerable maskList and not string)
            {
                int k = 0;
                foreach (var m in maskList)
                {
                    var (w, h, file) = WriteMask(m, Path.Combine(maskDir, $"{id}_{k++}.png"), where);
                    width ??= w; height ??= h;
                    masks.Add(MaskReference.FromFile(file));
                }
                if (masks.Count != points.Count)
                    throw new InvalidDataException($"{where}: {masks.Count} masks for {points.Count} points");
            }
            if (width == null) (width, height) = ImageSize.Read(new BenchmarkItem { Id = id, ImagePath = path });
            items.Add(new BenchmarkItem
            {
                Id = id, ImagePath = path, Label = ParquetRows.Text(row, "label"), Points = points,
                Width = width, Height = height, Masks = masks.Count > 0 ? masks : null,
            });
        }
        return BenchmarkConverters.Finish(r, items, source.Skipped, source.Notes());
    }

    static List<PercentPoint> ReadPoints(IDictionary<string, object?> row, string where)
    {
        var list = new List<PercentPoint>();
        if (!row.TryGetValue("points", out var v) || v == null) return list;
        foreach (var p in (IEnumerable)v)
        {
            if (p is not IDictionary<string, object?> d || !d.TryGetValue("x", out var x) || !d.TryGetValue("y", out var y) || x == null || y == null)
                throw new InvalidDataException($"{where}: each point must be a struct {{x, y}}");
            list.Add(new PercentPoint(System.Convert.ToDouble(x, System.Globalization.CultureInfo.InvariantCulture),
                System.Convert.ToDouble(y, System.Globalization.CultureInfo.InvariantCulture)));
        }
        return list;
    }

    static (int Width, int Height, string File) WriteMask(object? mask, string file, string where)
    {
        if (mask is not IEnumerable rows) throw new InvalidDataException($"{where}: a mask must be a list of rows of booleans");
        var data = rows.Cast<object?>().Select(row => row is IEnumerable cells and not string
            ? cells.Cast<object?>().Select(c => c is true).ToArray()
            : throw new InvalidDataException($"{where}: a mask row must be a list of booleans")).ToArray();
        if (data.Length == 0 || data[0].Length == 0) throw new InvalidDataException($"{where}: empty mask");
        int h = data.Length, w = data[0].Length;
        using var bmp = new SKBitmap(w, h, SKColorType.Gray8, SKAlphaType.Opaque);
        for (int y = 0; y < h; y++)
        {
            if (data[y].Length != w) throw new InvalidDataException($"{where}: mask rows differ in length");
            for (int x = 0; x < w; x++) bmp.SetPixel(x, y, data[y][x] ? SKColors.White : SKColors.Black);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        using var img = SKImage.FromBitmap(bmp);
        using var png = img.Encode(SKEncodedImageFormat.Png, 100);
        using var fs = File.Create(file);
        png.SaveTo(fs);
        return (w, h, file);
    }
}
