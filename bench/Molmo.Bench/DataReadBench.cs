using System.Diagnostics;
using System.Globalization;
using Molmo.Data.Datasets;
using Molmo.Data.Formats;
using Parquet;
using Parquet.Schema;
using Parquet.Serialization;

namespace Molmo.Bench;

/// <summary>
/// Reading PixMo-Points: writes a synthetic file in the released schema (image_url, image_sha256, points list&lt;struct&lt;x, y&gt;&gt;,
/// count, label, collection_method; 9 rows per image, 0–10 points a row, 100k-row groups), then times the typed streaming reader,
/// and grouping per image plus building the point_count training answer of every row.
/// Usage: <c>data-read [--rows 500000] [--file PATH]</c>.
/// </summary>
public static class DataReadBench
{
    public static int Run(string[] args)
    {
        var a = Args.Parse(args);
        int rows = int.Parse(a.Get("--rows", "500000")!, CultureInfo.InvariantCulture);
        var path = a.Get("--file", Path.Combine(Path.GetTempPath(), $"molmo-bench-pixmo-points-{rows}.parquet"))!;
        if (!File.Exists(path)) Write(path, rows).GetAwaiter().GetResult();
        Console.WriteLine($"{path}: {new FileInfo(path).Length / 1e6:F1} MB, {rows:N0} rows");

        var sw = Stopwatch.StartNew();
        long n = 0, points = 0;
        foreach (var r in Sync(new PixmoPointsReader().ReadAsync(path))) { n++; points += r.Points.Count; }
        double read = sw.Elapsed.TotalSeconds;
        long rssRead = Molmo.Checkpoints.ModelLoader.PeakRssBytes();

        sw.Restart();
        var rng = new Random(1);
        long chars = 0, groups = 0;
        foreach (var g in Sync(new PixmoPointsReader().ReadGroupedAsync(path)))
        {
            groups++;
            foreach (var r in g.Rows) chars += TrainingExamples.Points(r, PointingForm.PointCount, rng).Messages[^1].Text.Length;
        }
        double grouped = sw.Elapsed.TotalSeconds;

        Console.WriteLine($"| step | rows | time | rows/s | peak RSS so far |");
        Console.WriteLine($"|---|---|---|---|---|");
        Console.WriteLine($"| typed read (ReadAsync), {points:N0} points | {n:N0} | {read:F2} s | {n / read:N0} | {rssRead / 1e6:F0} MB |");
        Console.WriteLine($"| group per image + point_count answer ({groups:N0} images) | {n:N0} | {grouped:F2} s | {n / grouped:N0} | {Molmo.Checkpoints.ModelLoader.PeakRssBytes() / 1e6:F0} MB |");
        return 0;
    }

    static IEnumerable<T> Sync<T>(IAsyncEnumerable<T> source)
    {
        var e = source.GetAsyncEnumerator();
        try { while (e.MoveNextAsync().AsTask().GetAwaiter().GetResult()) yield return e.Current; }
        finally { e.DisposeAsync().AsTask().GetAwaiter().GetResult(); }
    }

    static async Task Write(string path, int rows)
    {
        var xy = new StructField("element", new DataField<double>("x", true), new DataField<double>("y", true));
        var schema = new ParquetSchema(new DataField<string>("image_url", true), new DataField<string>("image_sha256", true),
            new ListField("points", xy), new DataField<long>("count", true), new DataField<string>("label", true),
            new DataField<string>("collection_method", true));
        var rng = new Random(1);
        var data = new List<IDictionary<string, object?>>(rows);
        for (int i = 0; i < rows; i++)
        {
            int k = rng.Next(0, 11);
            var pts = Enumerable.Range(0, k).Select(_ => (Dictionary<string, object?>)new() { ["x"] = rng.NextDouble() * 100, ["y"] = rng.NextDouble() * 100 }).ToList();
            data.Add(new Dictionary<string, object?>
            {
                ["image_url"] = $"https://img.example/{i / 9}.jpg",
                ["image_sha256"] = (i / 9).ToString("x64", CultureInfo.InvariantCulture),
                ["points"] = pts,
                ["count"] = (long)k,
                ["label"] = $"label {i % 1000}",
                ["collection_method"] = i % 2 == 0 ? "pointing" : "counting",
            });
        }
        var tmp = path + ".tmp";
        await using (var fs = File.Create(tmp))
            await ParquetSerializer.SerializeUntypedAsync(data, schema, fs, new ParquetOptions { RowGroupSize = 100_000 });
        File.Move(tmp, path, overwrite: true);
    }
}
