using System.CommandLine;
using Molmo.Synthetic;
using Molmo.Synthetic.Inspection;
using Molmo.Synthetic.Parquet;
using SkiaSharp;
using Spectre.Console;

namespace Molmo.Cli.Commands;

/// <summary>
/// `molmo data gen|show|sheet`: generate synthetic PixMo-style Parquet files and look at any Parquet file with embedded images.
/// The `data` group itself is created in Program.cs so other `data` subcommands can join it.
/// </summary>
public static class SyntheticCommand
{
    public static IEnumerable<Command> Subcommands() => [Gen(), Show(), Sheet()];

    static Command Gen()
    {
        var kind = new Argument<string>("kind") { Description = "clocks | charts | tables | docs | count" };
        var n = new Option<int>("--n") { Description = "number of rows (images)", DefaultValueFactory = _ => 100 };
        var seed = new Option<long>("--seed") { Description = "random seed; the same seed gives the same file", DefaultValueFactory = _ => 0 };
        var size = new Option<int>("--size") { Description = "image width in pixels (clocks are square; charts/tables/forms 4:3; receipts 4:5)", DefaultValueFactory = _ => 336 };
        var output = new Option<string>("--out") { Description = "output Parquet file", Required = true };
        var threads = new Option<int>("--threads") { Description = "worker threads (output does not depend on it)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var force = new Option<bool>("--force") { Description = "overwrite an existing output file" };
        var cmd = new Command("gen", "Generate a synthetic dataset (images embedded as PNG) with exact answers");
        cmd.Arguments.Add(kind);
        foreach (var o in new Option[] { n, seed, size, output, threads, force }) cmd.Options.Add(o);
        cmd.SetAction((pr, ct) => CommandRunner.RunAsync(async () =>
        {
            var k = SyntheticKinds.Parse(pr.GetValue(kind)!);
            var req = new GenerationRequest(k, pr.GetValue(n), pr.GetValue(seed), pr.GetValue(size)) { Threads = pr.GetValue(threads) };
            string path = pr.GetValue(output)!;
            if (File.Exists(path) && !pr.GetValue(force))
                throw new IOException($"{path} already exists; pass --force to overwrite it");
            var sw = System.Diagnostics.Stopwatch.StartNew();
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask($"{k.Name()} {req.Size}px", maxValue: req.Count);
                    await SyntheticDatasetWriter.WriteAsync(req, path, pr.GetValue(force), new Progress<int>(d => task.Value = d), ct);
                    task.Value = req.Count;
                });
            var bytes = new FileInfo(path).Length;
            Console.WriteLine($"wrote {req.Count} rows to {path} ({bytes / 1024.0 / 1024.0:F1} MiB) in {sw.Elapsed.TotalSeconds:F1} s " +
                              $"({req.Count / sw.Elapsed.TotalSeconds:F1} images/s)");
            return 0;
        }));
        return cmd;
    }

    static Command Show()
    {
        var file = new Argument<string>("file") { Description = "Parquet file with an image-bytes column" };
        var row = new Option<long>("--row") { Description = "row index (0-based)", DefaultValueFactory = _ => 0 };
        var output = new Option<string>("--out") { Description = "output PNG", Required = true };
        var width = new Option<int>("--width") { Description = "drawing width in pixels", DefaultValueFactory = _ => 768 };
        var force = new Option<bool>("--force") { Description = "overwrite an existing output file" };
        var cmd = new Command("show", "Draw one row: its image with points, questions and answers");
        cmd.Arguments.Add(file);
        foreach (var o in new Option[] { row, output, width, force }) cmd.Options.Add(o);
        cmd.SetAction((pr, ct) => CommandRunner.RunAsync(async () =>
        {
            string outPath = CheckOutput(pr.GetValue(output)!, pr.GetValue(force));
            var f = await ImageParquetFile.OpenAsync(pr.GetValue(file)!, ct);
            var r = await f.ReadRowAsync(pr.GetValue(row), ct);
            using var bmp = RowAnnotator.Render(r, pr.GetValue(width));
            Save(bmp, outPath);
            foreach (var (q, a) in r.QuestionAnswers) Console.WriteLine($"Q: {q}\nA: {a}");
            Console.WriteLine($"wrote {outPath} ({bmp.Width}x{bmp.Height})");
            return 0;
        }));
        return cmd;
    }

    static Command Sheet()
    {
        var file = new Argument<string>("file") { Description = "Parquet file with an image-bytes column" };
        var output = new Option<string>("--out") { Description = "output PNG", Required = true };
        var count = new Option<int>("--count") { Description = "rows to draw", DefaultValueFactory = _ => 16 };
        var start = new Option<long>("--start") { Description = "first row", DefaultValueFactory = _ => 0 };
        var cell = new Option<int>("--cell") { Description = "cell size in pixels", DefaultValueFactory = _ => 320 };
        var force = new Option<bool>("--force") { Description = "overwrite an existing output file" };
        var cmd = new Command("sheet", "Draw a contact sheet (4 columns) of the first rows");
        cmd.Arguments.Add(file);
        foreach (var o in new Option[] { output, count, start, cell, force }) cmd.Options.Add(o);
        cmd.SetAction((pr, ct) => CommandRunner.RunAsync(async () =>
        {
            string outPath = CheckOutput(pr.GetValue(output)!, pr.GetValue(force));
            var f = await ImageParquetFile.OpenAsync(pr.GetValue(file)!, ct);
            long first = pr.GetValue(start);
            long end = Math.Min(f.RowCount, first + pr.GetValue(count));
            if (first >= end) throw new ArgumentException($"--start {first} is past the end of {pr.GetValue(file)} ({f.RowCount} rows)");
            var rows = new List<ImageRow>();
            for (long i = first; i < end; i++) rows.Add(await f.ReadRowAsync(i, ct));
            using var bmp = ContactSheet.Render(rows, 4, pr.GetValue(cell));
            Save(bmp, outPath);
            Console.WriteLine($"wrote {outPath} ({rows.Count} rows, {bmp.Width}x{bmp.Height})");
            return 0;
        }));
        return cmd;
    }

    static string CheckOutput(string path, bool force)
    {
        if (File.Exists(path) && !force) throw new IOException($"{path} already exists; pass --force to overwrite it");
        return path;
    }

    static void Save(SKBitmap bmp, string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllBytes(path, ImageEncoding.Png(bmp));
    }
}
