using System.Text.Json;
using Molmo.Eval.Benchmarks;
using Molmo.Eval.Reporting;
using Molmo.Eval.Runner;
using Molmo.TestSupport;
using SkiaSharp;

namespace Molmo.Eval.Tests.Runner;

public class EvalRunnerTests
{
    static string Png(string dir, string name, int w = 8, int h = 6)
    {
        var path = Path.Combine(dir, name);
        using var bmp = new SKBitmap(w, h);
        bmp.Erase(SKColors.CornflowerBlue);
        using var img = SKImage.FromBitmap(bmp);
        using var data = img.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    static string VqaDataset(string dir, int n)
    {
        Directory.CreateDirectory(Path.Combine(dir, "img"));
        var lines = new List<string>();
        for (int i = 0; i < n; i++)
        {
            Png(Path.Combine(dir, "img"), $"{i}.png");
            lines.Add(JsonSerializer.Serialize(new { id = $"q{i}", image = $"img/{i}.png", question = $"What number is {i}?",
                answers = Enumerable.Repeat(i.ToString(System.Globalization.CultureInfo.InvariantCulture), 10) }));
        }
        var path = Path.Combine(dir, "bench.jsonl");
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public async Task Runs_end_to_end_and_writes_every_output()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-run");
        var dataset = VqaDataset(dir, 4);
        // q0, q1 right; q2 as a number word (normalised to 2 → right); q3 wrong.
        var model = new FakeModel(new Dictionary<string, string> { ["q0"] = "0", ["q1"] = "1", ["q2"] = "two", ["q3"] = "seven" });
        var progress = new List<EvalProgress>();
        var outDir = Path.Combine(dir, "out");
        var result = await new EvalRunner(model).RunAsync(dataset, EvalTasks.Get("vqav2"), outDir, null, new SyncProgress(progress));

        Assert.Equal(75, result.Summary.Score, 9);
        Assert.Equal(4, result.Generated);
        Assert.Equal(0, result.Resumed);
        Assert.Equal("vqa2: What number is 0?", model.Requests[0].Prompt);
        Assert.Equal("vqa2", model.Requests[0].Style);
        Assert.Equal(12, model.Requests[0].MaxNewTokens);
        Assert.Equal(Path.Combine(dir, "img", "0.png"), model.Requests[0].ImagePath);
        Assert.Equal(4, progress[^1].Done);
        Assert.Equal(TimeSpan.Zero, progress[^1].Eta);
        Assert.Equal(75, progress[^1].RunningScore, 9);

        foreach (var f in new[] { EvalRunner.RunFile, EvalRunner.GenerationsFile, EvalRunner.PredictionsFile, EvalRunner.ResultsFile,
                     EvalRunner.SummaryFile, EvalRunner.ReportFile, EvalRunner.ChartFile })
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);
        var report = File.ReadAllText(result.ReportPath);
        Assert.Contains("| **vqa** | **75.0** |", report);
        Assert.Contains("q3", report); // listed as a failure
        using (var chart = SKBitmap.Decode(result.ChartPath))
        {
            Assert.Equal(ScoreChart.Width, chart.Width);
            Assert.True(chart.Height > 100);
        }

        // The predictions file feeds `eval score` and gives the same number.
        var rescored = Molmo.Eval.Scoring.ScoreFiles.Score(Molmo.Eval.Scoring.MetricKind.Vqa, result.PredictionsPath, dataset);
        Assert.Equal(result.Summary.Score, rescored.Summary.Score, 9);
    }

    [Fact]
    public async Task Resumes_without_regenerating_scored_items()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-run");
        var dataset = VqaDataset(dir, 5);
        var answers = Enumerable.Range(0, 5).ToDictionary(i => $"q{i}", i => i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var outDir = Path.Combine(dir, "out");

        var first = new FakeModel(answers) { FailAfter = 2 };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new EvalRunner(first).RunAsync(dataset, EvalTasks.Get("vqav2"), outDir));
        Assert.Equal(2, File.ReadAllLines(Path.Combine(outDir, EvalRunner.GenerationsFile)).Length);
        // Simulate a line cut off by a crash.
        File.AppendAllText(Path.Combine(outDir, EvalRunner.GenerationsFile), "{\"id\": \"q2\", \"predic");

        var second = new FakeModel(answers);
        var result = await new EvalRunner(second).RunAsync(dataset, EvalTasks.Get("vqav2"), outDir);
        Assert.Equal(["q2", "q3", "q4"], second.Requests.Select(r => r.Id));
        Assert.Equal(2, result.Resumed);
        Assert.Equal(3, result.Generated);
        Assert.Equal(100, result.Summary.Score);
        Assert.Equal(5, File.ReadAllLines(result.ResultsPath).Length);

        // A third run has nothing left to generate.
        var third = new FakeModel(answers);
        var again = await new EvalRunner(third).RunAsync(dataset, EvalTasks.Get("vqav2"), outDir);
        Assert.Empty(third.Requests);
        Assert.Equal(5, again.Resumed);
    }

    /// <summary>A model that answers in batches, out of order, and can fail partway through one.</summary>
    sealed class BatchingModel(IReadOnlyDictionary<string, string> answers) : IEvalModel
    {
        public string Name => "fake-model";
        public List<(int Count, int Batch)> Calls { get; } = [];
        public int? FailAfterAnswers { get; set; }
        int _answered;
        public Task<string> GenerateAsync(EvalRequest request, CancellationToken ct) => throw new InvalidOperationException("batched only");
        public Task GenerateBatchAsync(IReadOnlyList<EvalRequest> requests, int batch, Action<int, string> onAnswer, CancellationToken ct)
        {
            Calls.Add((requests.Count, batch));
            for (int i = requests.Count - 1; i >= 0; i--)   // the last first: answers come as rows finish, not in order
            {
                if (FailAfterAnswers is int n && _answered >= n) throw new OperationCanceledException("simulated interruption");
                _answered++;
                onAnswer(i, answers[requests[i].Id]);
            }
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task Questions_about_one_image_are_asked_together_and_written_in_the_datasets_order()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-group");
        Directory.CreateDirectory(Path.Combine(dir, "img"));
        foreach (var name in new[] { "a", "b" }) Png(Path.Combine(dir, "img"), $"{name}.png");
        // a, b, a, b, a: the engine's prefix cache serves a question from the one before it about the same image.
        var images = new[] { "a", "b", "a", "b", "a" };
        File.WriteAllLines(Path.Combine(dir, "bench.jsonl"), images.Select((im, i) => JsonSerializer.Serialize(new
        {
            id = $"q{i}", image = $"img/{im}.png", question = $"Question {i}?", answers = Enumerable.Repeat($"{i}", 10),
        })));
        var answers = Enumerable.Range(0, 5).ToDictionary(i => $"q{i}", i => $"{i}");
        var model = new FakeModel(answers);
        var result = await new EvalRunner(model).RunAsync(Path.Combine(dir, "bench.jsonl"), EvalTasks.Get("vqav2"), Path.Combine(dir, "out"));
        Assert.Equal(["q0", "q2", "q4", "q1", "q3"], model.Requests.Select(r => r.Id));
        Assert.Equal(100, result.Summary.Score, 9);
        var written = File.ReadAllLines(result.PredictionsPath).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("id").GetString());
        Assert.Equal(["q0", "q1", "q2", "q3", "q4"], written);
    }

    [Fact]
    public async Task Batched_runs_hand_out_windows_record_each_answer_and_resume()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-batch");
        var dataset = VqaDataset(dir, 11);
        var answers = Enumerable.Range(0, 11).ToDictionary(i => $"q{i}", i => i % 3 == 0 ? "wrong" : i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var outDir = Path.Combine(dir, "out");
        var options = new EvalRunOptions { Batch = 2 };

        // Interrupted after 5 answers: they are in the log (in the order they came), the rest is not.
        var first = new BatchingModel(answers) { FailAfterAnswers = 5 };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new EvalRunner(first).RunAsync(dataset, EvalTasks.Get("vqav2"), outDir, options));
        var logged = File.ReadAllLines(Path.Combine(outDir, EvalRunner.GenerationsFile));
        Assert.Equal(5, logged.Length);
        Assert.Contains("\"q7\"", logged[0]);   // windows of 2 × 4: the first answer to come was q7's

        var second = new BatchingModel(answers);
        var progress = new List<EvalProgress>();
        var result = await new EvalRunner(second).RunAsync(dataset, EvalTasks.Get("vqav2"), outDir, options, new SyncProgress(progress));
        Assert.Equal(5, result.Resumed);
        Assert.Equal(6, result.Generated);
        Assert.Equal([(6, 2)], second.Calls);   // the 6 left fit one window
        Assert.Equal(11, progress[^1].Done);

        // The same scores as answering one at a time.
        var single = await new EvalRunner(new FakeModel(answers)).RunAsync(dataset, EvalTasks.Get("vqav2"), Path.Combine(dir, "single"));
        Assert.Equal(single.Summary.Score, result.Summary.Score, 9);
        Assert.Equal(File.ReadAllLines(single.PredictionsPath), File.ReadAllLines(result.PredictionsPath));
        await Assert.ThrowsAsync<ArgumentException>(() => new EvalRunner(second).RunAsync(dataset, EvalTasks.Get("vqav2"), Path.Combine(dir, "x"), new EvalRunOptions { Batch = 0 }));
    }

    [Fact]
    public void Generation_log_rejects_a_damaged_line_in_the_middle()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-run");
        var path = Path.Combine(dir, EvalRunner.GenerationsFile);
        File.WriteAllLines(path, ["{\"id\": \"a\", \"prediction\": \"x\"}", "garbage", "{\"id\": \"b\", \"prediction\": \"y\"}"]);
        Assert.Contains(":2:", Assert.Throws<InvalidDataException>(() => GenerationLog.Open(path)).Message);
        File.WriteAllText(path, "{\"id\": \"a\", \"prediction\": \"x\"}"); // no final newline
        using (var log = GenerationLog.Open(path)) log.Append("b", "ünï \"q\"", 0.5);
        using var again = GenerationLog.Open(path);
        Assert.Equal("ünï \"q\"", again.Existing["b"]);
        Assert.Equal(2, again.Existing.Count);
    }

    [Fact]
    public async Task Refuses_an_out_folder_of_another_task()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-run");
        var dataset = VqaDataset(dir, 1);
        var outDir = Path.Combine(dir, "out");
        await new EvalRunner(new FakeModel(new Dictionary<string, string>())).RunAsync(dataset, EvalTasks.Get("vqav2"), outDir);
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            new EvalRunner(new FakeModel(new Dictionary<string, string>())).RunAsync(dataset, EvalTasks.Get("textvqa"), outDir));
        Assert.Contains("another --out", e.Message);
    }

    [Fact]
    public async Task Limit_and_missing_images()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-run");
        var dataset = VqaDataset(dir, 3);
        var model = new FakeModel(new Dictionary<string, string>());
        var r = await new EvalRunner(model).RunAsync(dataset, EvalTasks.Get("vqav2"), Path.Combine(dir, "o1"), new EvalRunOptions { Limit = 2 });
        Assert.Equal(2, r.Summary.Items);
        Assert.Equal(2, r.Summary.Unparseable); // empty answers

        File.Delete(Path.Combine(dir, "img", "2.png"));
        var e = await Assert.ThrowsAsync<FileNotFoundException>(() =>
            new EvalRunner(model).RunAsync(dataset, EvalTasks.Get("vqav2"), Path.Combine(dir, "o2")));
        Assert.Contains("q2", e.Message);
    }

    [Fact]
    public async Task Counting_pointing_mc_and_clock_tasks()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-run");
        var png = Png(dir, "a.png", 200, 100);
        var bytes = File.ReadAllBytes(png);
        var items = new List<BenchmarkItem>
        {
            new() { Id = "c1", ImagePath = png, Label = "Dogs", Answer = "3" },
        };
        var model = new FakeModel(new Dictionary<string, string>
        {
            ["c1"] = "Counting the <points x1=\"1.0\" y1=\"1.0\" x2=\"2.0\" y2=\"2.0\" x3=\"3.0\" y3=\"3.0\" alt=\"dogs\">dogs</points> shows a total of 3.",
            ["p1"] = "<point x=\"50.0\" y=\"50.0\" alt=\"dog\">dog</point>",
            ["m1"] = "B",
            ["m2"] = "K",
            ["t1"] = "The time shown is 4:20",
        });
        var count = await new EvalRunner(model).RunAsync(items, EvalTasks.Get("countbenchqa"), Path.Combine(dir, "count"));
        Assert.Equal(100, count.Summary.Score);
        Assert.Equal("How many dogs are there?", model.Requests[^1].Prompt); // demo style: no prefix
        Assert.Equal(192, model.Requests[^1].MaxNewTokens);

        // Pointing: width/height come from the image header when absent; no masks → radius rule.
        var point = await new EvalRunner(model).RunAsync(
            [new BenchmarkItem { Id = "p1", ImageBytes = bytes, Label = "dog", Points = [new PercentPoint(51, 49)] }],
            EvalTasks.Get("pointing"), Path.Combine(dir, "point"));
        Assert.Equal(100, point.Summary.Score, 6);
        Assert.StartsWith("Point to dog\n", model.Requests[^1].Prompt);
        Assert.NotNull(model.Requests[^1].ImageBytes);
        Assert.Contains("74.3", File.ReadAllText(point.ReportPath)); // the paper's Table 11 F1 is shown beside

        var mc = await new EvalRunner(model).RunAsync(
        [
            new BenchmarkItem { Id = "m1", ImagePath = png, Question = "Which?", Options = ["sun", "moon"], Answer = "1" },
            new BenchmarkItem { Id = "m2", ImagePath = png, Question = "Which label?", Options = ["E", "K"], Answer = "K" },
        ], EvalTasks.Get("ai2d"), Path.Combine(dir, "mc"));
        Assert.Equal(100, mc.Summary.Score);
        Assert.Equal("ai2_diagram: Which?\nA: sun\nB: moon\n", model.Requests[^2].Prompt);
        Assert.Equal("ai2_diagram_no_letter: Which label?\nE\nK\n", model.Requests[^1].Prompt);
        Assert.Equal("ai2_diagram_no_letter", model.Requests[^1].Style);

        var clock = await new EvalRunner(model).RunAsync([new BenchmarkItem { Id = "t1", ImagePath = png, Answer = "4:21" }],
            EvalTasks.Get("clock_bench"), Path.Combine(dir, "clock"));
        Assert.Equal(100, clock.Summary.Score);
        Assert.Equal("clocks: What time is being shown?", model.Requests[^1].Prompt);
        var report = File.ReadAllText(clock.ReportPath);
        Assert.Contains("68.2", report); // Table 10, Molmo-7B-D
        Assert.Contains("Note on Table 10", report);
    }

    [Fact]
    public async Task Bad_references_fail_before_any_generation()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-run");
        var png = Png(dir, "a.png");
        var model = new FakeModel(new Dictionary<string, string>());
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => new EvalRunner(model).RunAsync(
            [new BenchmarkItem { Id = "ok", ImagePath = png, Question = "q", Answers = ["x"] },
             new BenchmarkItem { Id = "bad", ImagePath = png, Question = "q" }],
            EvalTasks.Get("docvqa"), Path.Combine(dir, "o")));
        Assert.Contains("bad", e.Message);
        Assert.Empty(model.Requests);
        var e2 = await Assert.ThrowsAsync<InvalidDataException>(() => new EvalRunner(model).RunAsync(
            [new BenchmarkItem { Id = "nolabel", ImagePath = png }], EvalTasks.Get("pointing"), Path.Combine(dir, "o2")));
        Assert.Contains("\"label\"", e2.Message);
    }

    [Fact]
    public void Task_table_is_complete()
    {
        Assert.Equal(EvalTasks.All.Count, EvalTasks.All.Select(t => t.Name).Distinct().Count());
        Assert.Contains("unknown task", Assert.Throws<ArgumentException>(() => EvalTasks.Get("nope")).Message);
        Assert.All(EvalTasks.All.Where(t => t.Metric is Molmo.Eval.Scoring.MetricKind.Count or Molmo.Eval.Scoring.MetricKind.Points),
            t => Assert.Equal(192, t.MaxNewTokens));
    }

    /// <summary>IProgress that records synchronously (Progress&lt;T&gt; posts to the thread pool).</summary>
    sealed class SyncProgress(List<EvalProgress> sink) : IProgress<EvalProgress>
    {
        public void Report(EvalProgress value) => sink.Add(value);
    }
}
