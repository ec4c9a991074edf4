using System.Diagnostics;
using System.Text.Json;
using Molmo.Eval.Benchmarks;
using Molmo.Eval.Reporting;
using Molmo.Eval.Scoring;

namespace Molmo.Eval.Runner;

/// <summary>
/// Evaluates a model on a benchmark: builds each prompt (style prefix, max new tokens from <see cref="EvalTasks"/>),
/// generates, scores, and writes to the output folder <c>run.json</c>, <c>generations.jsonl</c> (resume log),
/// <c>predictions.jsonl</c>, <c>results.jsonl</c>, <c>summary.json</c>, <c>report.md</c> and <c>chart.png</c>.
/// Running again on the same folder skips items that already have a prediction.
/// </summary>
public sealed class EvalRunner(IEvalModel model)
{
    public const string RunFile = "run.json", GenerationsFile = "generations.jsonl", PredictionsFile = "predictions.jsonl",
        ResultsFile = "results.jsonl", SummaryFile = "summary.json", ReportFile = "report.md", ChartFile = "chart.png";

    static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Loads the dataset file and runs <see cref="RunAsync(IReadOnlyList{BenchmarkItem}, EvalTask, string, EvalRunOptions?, IProgress{EvalProgress}?, CancellationToken)"/>.</summary>
    public Task<EvalRunResult> RunAsync(string datasetPath, EvalTask task, string outDir, EvalRunOptions? options = null,
        IProgress<EvalProgress>? progress = null, CancellationToken ct = default)
    {
        var items = BenchmarkReader.Read(datasetPath);
        options ??= new EvalRunOptions();
        if (options.DatasetName == null) options = options with { DatasetName = Path.GetFileName(datasetPath) };
        return RunAsync(items, task, outDir, options, progress, ct);
    }

    public async Task<EvalRunResult> RunAsync(IReadOnlyList<BenchmarkItem> allItems, EvalTask task, string outDir,
        EvalRunOptions? options = null, IProgress<EvalProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(allItems);
        ArgumentNullException.ThrowIfNull(task);
        options ??= new EvalRunOptions();
        if (options.Limit is < 0) throw new ArgumentException($"limit must be ≥ 0, got {options.Limit}");
        if (options.Batch < 1) throw new ArgumentException($"batch must be ≥ 1, got {options.Batch}");
        var items = options.Limit is int lim ? allItems.Take(lim).ToList() : allItems.ToList();
        items = items.Select(i => CompleteItem(task, i)).ToList();
        var prompts = items.ToDictionary(i => i.Id, i => EvalTasks.BuildPrompt(task, i), StringComparer.Ordinal);
        ValidateReferences(task, items, options.Scoring);

        Directory.CreateDirectory(outDir);
        CheckOrWriteRunFile(Path.Combine(outDir, RunFile), task, options);

        using var log = GenerationLog.Open(Path.Combine(outDir, GenerationsFile));
        var predictions = new Dictionary<string, string>(StringComparer.Ordinal);
        var scores = new Dictionary<string, ItemScore>(StringComparer.Ordinal);
        foreach (var item in items)
            if (log.Existing.TryGetValue(item.Id, out var p))
            {
                predictions[item.Id] = p;
                scores[item.Id] = ItemScorer.Score(task.Metric, p, item, options.Scoring);
            }
        int resumed = predictions.Count;
        // Questions about one image are asked one after another (in the order the image first appears), so that the engine's
        // prefix cache serves them from the first one's prompt; the outputs keep the dataset's order.
        var todo = items.Where(i => !predictions.ContainsKey(i.Id)).GroupBy(ImageKey, StringComparer.Ordinal).SelectMany(g => g).ToList();
        foreach (var item in todo)
            if (!item.HasImage) throw new InvalidDataException($"item {item.Id}: no image (\"image\" path or \"image_bytes\")");
            else if (item.ImagePath != null && !File.Exists(item.ImagePath))
                throw new FileNotFoundException($"item {item.Id}: image not found: {item.ImagePath}", item.ImagePath);

        var clock = Stopwatch.StartNew();
        int generated = 0;
        progress?.Report(new EvalProgress(resumed, items.Count, resumed, null, Running(scores), TimeSpan.Zero, null));
        // Groups of requests (one request at a time unless batched); each answer is logged, scored and reported as it comes.
        int window = options.Batch == 1 ? 1 : options.Batch * EvalRunOptions.BatchWindow;
        foreach (var group in todo.Chunk(window))
        {
            ct.ThrowIfCancellationRequested();
            var requests = group.Select(item => new EvalRequest
            {
                Id = item.Id,
                ImageBytes = item.ImageBytes,
                ImagePath = item.ImageBytes == null ? item.ImagePath : null,
                Prompt = prompts[item.Id],
                Style = EvalTasks.StyleFor(task, item),
                MaxNewTokens = task.MaxNewTokens,
            }).ToList();
            var started = clock.Elapsed;
            void Record(int i, string? prediction)
            {
                var item = group[i];
                prediction ??= "";
                log.Append(item.Id, prediction, (clock.Elapsed - started).TotalSeconds);
                started = clock.Elapsed;
                predictions[item.Id] = prediction;
                scores[item.Id] = ItemScorer.Score(task.Metric, prediction, item, options.Scoring);
                generated++;
                var perItem = clock.Elapsed / generated;
                progress?.Report(new EvalProgress(predictions.Count, items.Count, resumed, item.Id, Running(scores), clock.Elapsed,
                    perItem * (todo.Count - generated)));
            }
            if (window == 1) Record(0, await model.GenerateAsync(requests[0], ct).ConfigureAwait(false));
            else await model.GenerateBatchAsync(requests, options.Batch, Record, ct).ConfigureAwait(false);
        }

        var ordered = items.Select(i => scores[i.Id]).ToList();
        var summary = ScoreAggregator.Summarize(task.Metric, ordered);
        var paths = WriteOutputs(outDir, task, options, items, predictions, prompts, ordered, summary);
        return new EvalRunResult(summary, ordered, generated, resumed, Path.GetFullPath(outDir),
            paths.Predictions, paths.Results, paths.Summary, paths.Report, paths.Chart);
    }

    /// <summary>What identifies an item's image: its full path, or a hash of its inline bytes (each row of a Parquet benchmark
    /// holds its own copy); the item's id when it has neither (it fails its check later).</summary>
    static string ImageKey(BenchmarkItem item) =>
        item.ImageBytes is { } bytes ? "bytes:" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes))
        : item.ImagePath is { } path ? "path:" + Path.GetFullPath(path)
        : "item:" + item.Id;

    /// <summary>Fails before any generation when a reference lacks what the metric needs (masks are checked when scored).</summary>
    static void ValidateReferences(EvalTask task, List<BenchmarkItem> items, ScoringOptions scoring)
    {
        foreach (var item in items)
        {
            if (task.Metric == MetricKind.Points)
            {
                if (item.Points == null) throw new InvalidDataException($"item {item.Id}: task {task.Name} needs \"points\" (an empty list when the object is absent)");
                if (item.Masks != null && item.Masks.Count != item.Points.Count)
                    throw new InvalidDataException($"item {item.Id}: {item.Masks.Count} masks for {item.Points.Count} points; give one mask per point");
            }
            else ItemScorer.Score(task.Metric, "", item, scoring);
        }
    }

    static double Running(Dictionary<string, ItemScore> scores) => scores.Count == 0 ? 0 : 100 * scores.Values.Average(s => s.Score);

    /// <summary>Pointing needs the original image size; read it from the image when the item does not give it.</summary>
    static BenchmarkItem CompleteItem(EvalTask task, BenchmarkItem item)
    {
        if (task.Metric != MetricKind.Points || (item.Width != null && item.Height != null) || !item.HasImage) return item;
        var (w, h) = ImageSize.Read(item);
        return item with { Width = item.Width ?? w, Height = item.Height ?? h };
    }

    void CheckOrWriteRunFile(string path, EvalTask task, EvalRunOptions options)
    {
        if (File.Exists(path))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            var oldTask = doc.RootElement.TryGetProperty("task", out var t) ? t.GetString() : null;
            var oldModel = doc.RootElement.TryGetProperty("model", out var m) ? m.GetString() : null;
            if (oldTask != task.Name || oldModel != model.Name)
                throw new InvalidOperationException(
                    $"{Path.GetDirectoryName(path)} holds a run of task '{oldTask}' with model '{oldModel}'; " +
                    $"this run is task '{task.Name}' with model '{model.Name}'. Use another --out folder to start afresh.");
            return;
        }
        var info = new Dictionary<string, object?>
        {
            ["task"] = task.Name, ["model"] = model.Name, ["dataset"] = options.DatasetName, ["style"] = task.Style,
            ["max_new_tokens"] = task.MaxNewTokens, ["metric"] = task.Metric.ToName(), ["started_utc"] = DateTime.UtcNow.ToString("o"),
        };
        File.WriteAllText(path, JsonSerializer.Serialize(info, Indented));
    }

    (string Predictions, string Results, string Summary, string Report, string Chart) WriteOutputs(string outDir, EvalTask task,
        EvalRunOptions options, List<BenchmarkItem> items, Dictionary<string, string> predictions, Dictionary<string, string> prompts,
        List<ItemScore> scores, ScoreSummary summary)
    {
        var predPath = Path.Combine(outDir, PredictionsFile);
        var resultsPath = Path.Combine(outDir, ResultsFile);
        var summaryPath = Path.Combine(outDir, SummaryFile);
        var reportPath = Path.Combine(outDir, ReportFile);
        var chartPath = Path.Combine(outDir, ChartFile);
        var lineOpts = new JsonSerializerOptions { Encoder = Indented.Encoder };

        File.WriteAllLines(predPath, items.Select(i => JsonSerializer.Serialize(
            new Dictionary<string, string> { ["id"] = i.Id, ["prediction"] = predictions[i.Id] }, lineOpts)));
        File.WriteAllLines(resultsPath, items.Zip(scores).Select(t => JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["id"] = t.First.Id,
            ["prompt"] = prompts[t.First.Id],
            ["prediction"] = predictions[t.First.Id],
            ["score"] = t.Second.Score,
            ["unparseable"] = t.Second.Unparseable,
            ["parsed"] = t.Second.Parsed,
            ["details"] = t.Second.Details,
            ["subset"] = t.Second.Subset,
        }, lineOpts)));

        var paper = PaperResults.Load();
        var published = task.PaperBenchmark == null ? [] : paper.For(task.PaperBenchmark);
        File.WriteAllText(summaryPath, JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["task"] = task.Name, ["model"] = model.Name, ["dataset"] = options.DatasetName,
            ["metric"] = summary.Metric, ["score"] = summary.Score, ["items"] = summary.Items,
            ["unparseable"] = summary.Unparseable, ["sub_scores"] = summary.SubScores,
            ["paper"] = published.Select(r => new { table = r.Table, model = r.Model, metric = r.Metric, value = r.Value }).ToList(),
        }, Indented));

        var report = new RunReport(model.Name, task, options.DatasetName, summary, items, predictions, scores, published,
            paper.Tables.Where(t => t.Results.Any(r => r.Benchmark == task.PaperBenchmark)).ToList(), options.ReportExamples);
        File.WriteAllText(reportPath, ReportWriter.ToMarkdown(report, ChartFile));
        ScoreChart.Render(report, chartPath);
        return (predPath, resultsPath, summaryPath, reportPath, chartPath);
    }
}
