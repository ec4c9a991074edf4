using System.CommandLine;
using System.Globalization;
using Molmo.Data.Images;
using Molmo.Data.Parquet;
using Spectre.Console;

namespace Molmo.Cli.Commands;

/// <summary>
/// <c>molmo data fetch-images</c> and <c>molmo data stats</c>. The <c>data</c> group itself is created in Program.cs so that
/// other files can add their own <c>data</c> subcommands.
/// </summary>
public static class DataCommand
{
    public static IEnumerable<Command> Subcommands()
    {
        yield return FetchImages();
        yield return Stats();
    }

    static Command FetchImages()
    {
        var file = new Argument<string[]>("files")
        {
            Description = "PixMo Parquet file(s) with an image_url column (and image_sha256 where released); several shards may be given",
            Arity = ArgumentArity.OneOrMore,
        };
        var cache = new Option<string>("--cache") { Description = "Image cache directory (files named by the sha256 of the URL)", Required = true };
        var jobs = new Option<int>("--jobs") { Description = "Downloads at the same time", DefaultValueFactory = _ => 16 };
        var timeout = new Option<double>("--timeout") { Description = "Seconds allowed per attempt", DefaultValueFactory = _ => 15 };
        var attempts = new Option<int>("--attempts") { Description = "Attempts per URL on 429/5xx/timeouts", DefaultValueFactory = _ => 4 };
        var retryFailed = new Option<bool>("--retry-failed") { Description = "Try again URLs that failed in an earlier run" };
        var verifyExisting = new Option<bool>("--verify-existing") { Description = "Check files already cached and fetch again those that are not the image" };
        var insecure = new Option<bool>("--insecure") { Description = "Accept invalid TLS certificates (the official pixmo-count download does)" };
        var cmd = new Command("fetch-images", "Download the images of a PixMo Parquet file into a cache; resumable");
        cmd.Arguments.Add(file);
        foreach (var o in new Option[] { cache, jobs, timeout, attempts, retryFailed, verifyExisting, insecure }) cmd.Options.Add(o);
        cmd.SetAction((parse, ct) => CommandRunner.RunAsync(async () =>
        {
            var options = new ImageCacheOptions
            {
                MaxConcurrency = parse.GetValue(jobs),
                RequestTimeout = TimeSpan.FromSeconds(parse.GetValue(timeout)),
                MaxAttempts = parse.GetValue(attempts),
                RetryRecordedFailures = parse.GetValue(retryFailed),
                AllowInvalidCertificates = parse.GetValue(insecure),
                VerifyExisting = parse.GetValue(verifyExisting),
            };
            var console = Terminal();
            var requests = await ImageRequests.FromParquetAsync(parse.GetValue(file)!, ct);
            using var imageCache = new ImageCache(parse.GetValue(cache)!, options);
            ImageCacheProgress last = new(0, 0, 0, 0, 0);
            IReadOnlyList<ImageFetchResult> results = [];
            await console.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask("images", maxValue: Math.Max(1, requests.Count));
                    var gate = new object();
                    var progress = new InlineProgress<ImageCacheProgress>(p =>
                    {
                        lock (gate)
                        {
                            if (p.Done < last.Done) return;
                            last = p;
                            task.MaxValue = Math.Max(1, p.Total);
                            task.Value = p.Done;
                            task.Description = $"ok [green]{p.Ok}[/] failed [red]{p.Failed}[/] skipped [grey]{p.Skipped}[/]";
                        }
                    });
                    results = await imageCache.FetchAllAsync(requests, progress, ct);
                    task.Value = task.MaxValue;
                });
            var table = new Table().AddColumn("outcome").AddColumn(new TableColumn("urls").RightAligned());
            foreach (var status in Enum.GetValues<ImageFetchStatus>())
                table.AddRow(status.ToString(), results.Count(r => r.Status == status).ToString(CultureInfo.InvariantCulture));
            console.Write(table);
            int available = results.Count(r => r.IsOk);
            console.MarkupLine($"Got images for {available}/{results.Count} ({(results.Count == 0 ? 0 : 100.0 * available / results.Count):0.0}%) in [blue]{Markup.Escape(imageCache.CacheDir)}[/]");
            foreach (var f in results.Where(r => r.Status == ImageFetchStatus.Failed).Take(5))
                console.MarkupLine($"[red]failed[/] {Markup.Escape(f.Url)}: {Markup.Escape(f.Error ?? "")}");
            return 0;
        }));
        return cmd;
    }

    static Command Stats()
    {
        var file = new Argument<string>("file") { Description = "Parquet file" };
        var cmd = new Command("stats", "Rows, row groups, schema, detected PixMo dataset and per-column summaries of a Parquet file");
        cmd.Arguments.Add(file);
        cmd.SetAction((parse, ct) => CommandRunner.RunAsync(async () =>
        {
            var console = Terminal();
            var stats = await ParquetStats.ComputeAsync(parse.GetValue(file)!, null, ct);
            console.MarkupLine($"[bold]{Markup.Escape(stats.Path)}[/]");
            console.MarkupLine($"rows {stats.Rows:N0}, row groups {stats.RowGroups}");
            console.MarkupLine(stats.DetectedKind is { } kind
                ? $"dataset: [green]{Molmo.Data.Datasets.PixmoDatasetKindNames.HubName(kind)}[/]" +
                  (stats.SchemaProblem is null ? " (schema matches)" : $" [red]schema problem:[/] {Markup.Escape(stats.SchemaProblem)}")
                : "dataset: [yellow]not a known PixMo schema[/]");
            var schema = new Table().Title("schema").AddColumn("column").AddColumn("type");
            foreach (var (name, type) in stats.Columns) schema.AddRow(Markup.Escape(name), Markup.Escape(type));
            console.Write(schema);
            var cols = new Table().Title("columns (min/mean/max)").AddColumn("leaf").AddColumn("nulls").AddColumn("values")
                .AddColumn("of").AddColumn("min/mean/max").AddColumn("list length").AddColumn("distinct");
            foreach (var s in stats.Summaries)
                cols.AddRow(Markup.Escape(s.Path), N(s.Nulls), N(s.Values), s.Measure, $"{D(s.Min)}/{D(s.Mean)}/{D(s.Max)}",
                    s.MeanListLength is null ? "" : $"{D(s.MinListLength)}/{D(s.MeanListLength)}/{D(s.MaxListLength)}",
                    s.Measure == "length" ? (s.Distinct is long d ? N(d) : $">{ParquetStats.DistinctLimit:N0}") : "");
            console.Write(cols);
            return 0;
        }));
        return cmd;
    }

    /// <summary>A console on the current Console.Out (the static AnsiConsole keeps the writer it first saw).</summary>
    static IAnsiConsole Terminal() => AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });

    static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
    static string D(double? v) => v is null ? "" : v.Value.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool and arrive out of order).</summary>
    sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
