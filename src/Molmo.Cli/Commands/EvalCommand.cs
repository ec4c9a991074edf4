using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Molmo.Eval.Converters;
using Molmo.Eval.Metrics;
using Molmo.Eval.Runner;
using Molmo.Eval.Scoring;
using Spectre.Console;

namespace Molmo.Cli.Commands;

/// <summary><c>molmo eval</c>: score prediction files, fit Elo ratings, convert public benchmarks, and run a model on a benchmark.</summary>
public static class EvalCommand
{
    /// <summary>
    /// Creates the model <c>eval run</c> evaluates (<see cref="EvalModelSpec"/>: model folder, device, dtype, prefix cache).
    /// Set by the application that links the engine; when null, <c>eval run</c> fails with a clear message.
    /// </summary>
    public static Func<EvalModelSpec, IEvalModel>? ModelFactory { get; set; } = EngineEvalModel.Create;

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static Command Create()
    {
        var eval = new Command("eval", "Evaluate models: score predictions, Elo from preferences, convert benchmarks, run a benchmark");
        eval.Subcommands.Add(Score());
        eval.Subcommands.Add(Elo());
        eval.Subcommands.Add(Run());
        eval.Subcommands.Add(Convert());
        eval.Subcommands.Add(Tasks());
        return eval;
    }

    static Command Score()
    {
        var metric = new Option<string>("--metric") { Description = $"one of: {string.Join(", ", MetricNames.Names)}", Required = true };
        var predictions = new Option<string>("--predictions") { Description = "JSONL of {\"id\", \"prediction\"}", Required = true };
        var references = new Option<string>("--references") { Description = "JSONL (or Parquet) of references; fields depend on the metric", Required = true };
        var output = new Option<string?>("--out") { Description = "also write the summary and per-item scores to this JSON file" };
        var noneBug = new Option<bool>("--count-none-bug") { Description = "count: reproduce Molmo's parser that never reads \"none\" as 0" };
        var radius = new Option<double>("--hit-radius")
        {
            Description = "points without masks: a hit lies within this fraction of the image diagonal", DefaultValueFactory = _ => 0.05,
        };
        var cmd = new Command("score", "Score a predictions file against references; prints one JSON object")
            { metric, predictions, references, output, noneBug, radius };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            var kind = MetricNames.Parse(pr.GetValue(metric)!);
            var options = new ScoringOptions { ReproduceCountNoneBug = pr.GetValue(noneBug), PointHitRadiusFraction = pr.GetValue(radius) };
            var result = ScoreFiles.Score(kind, pr.GetValue(predictions)!, pr.GetValue(references)!, options);
            Console.Out.WriteLine(JsonSerializer.Serialize(result.Summary, Json));
            var outPath = pr.GetValue(output);
            if (outPath != null)
                File.WriteAllText(outPath, JsonSerializer.Serialize(new
                {
                    summary = result.Summary,
                    items = result.Items.Select(i => new { id = i.Id, score = i.Score, unparseable = i.Unparseable, parsed = i.Parsed, details = i.Details }),
                }, Json));
            return 0;
        }));
        return cmd;
    }

    static Command Elo()
    {
        var comparisons = new Option<string>("--comparisons") { Description = "JSONL of {\"a\", \"b\", \"winner\": \"a\"|\"b\"|\"tie\"}", Required = true };
        var rounds = new Option<int>("--bootstrap") { Description = "bootstrap resamples for the intervals", DefaultValueFactory = _ => 1000 };
        var seed = new Option<int>("--seed") { Description = "bootstrap random seed", DefaultValueFactory = _ => 42 };
        var anchor = new Option<string?>("--anchor") { Description = "give this model --anchor-rating (default: mean rating 1000)" };
        var anchorRating = new Option<double>("--anchor-rating") { Description = "rating of the --anchor model", DefaultValueFactory = _ => 1000 };
        var json = new Option<bool>("--json") { Description = "print JSON instead of a table" };
        var cmd = new Command("elo", "Bradley–Terry Elo ratings with 95 % bootstrap intervals from pairwise preferences")
            { comparisons, rounds, seed, anchor, anchorRating, json };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            var file = ComparisonFile.Read(pr.GetValue(comparisons)!);
            var ratings = BradleyTerryElo.Fit(file.Comparisons, new EloOptions
            {
                BootstrapRounds = pr.GetValue(rounds), Seed = pr.GetValue(seed),
                AnchorModel = pr.GetValue(anchor), AnchorRating = pr.GetValue(anchorRating),
            });
            if (pr.GetValue(json))
                Console.Out.WriteLine(JsonSerializer.Serialize(new
                {
                    comparisons = file.Comparisons.Count, dropped = file.Dropped, confidence = 0.95,
                    ratings = ratings.Select(r => new { model = r.Model, rating = Math.Round(r.Rating, 1), lower = Math.Round(r.Lower, 1),
                        upper = Math.Round(r.Upper, 1), games = r.Games, wins = r.Wins, ties = r.Ties }),
                }, Json));
            else
            {
                var table = new Table().AddColumns("rank", "model", "Elo", "95 % interval", "games", "wins", "ties");
                int rank = 1;
                foreach (var r in ratings)
                    table.AddRow((rank++).ToString(CultureInfo.InvariantCulture), Markup.Escape(r.Model), F(r.Rating),
                        $"{F(r.Lower)} – {F(r.Upper)}", r.Games.ToString(CultureInfo.InvariantCulture), F(r.Wins), F(r.Ties));
                AnsiConsole.Write(table);
                Console.Out.WriteLine($"{file.Comparisons.Count} comparisons" + (file.Dropped > 0 ? $", {file.Dropped} \"don't know\" dropped" : ""));
            }
            return 0;
        }));
        return cmd;
    }

    static Command Run()
    {
        var model = new Option<string>("--model") { Description = "model directory", Required = true };
        var dataset = new Option<string>("--dataset") { Description = "benchmark in the local format (JSONL or Parquet)", Required = true };
        var task = new Option<string>("--task") { Description = "task name (see `molmo eval tasks`)", Required = true };
        var output = new Option<string>("--out") { Description = "output folder (run it again with the same folder to resume)", Required = true };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
        var dtype = new Option<string>("--dtype") { Description = "fp32, bf16, int8 or int4", DefaultValueFactory = _ => "fp32" };
        var limit = new Option<int?>("--limit") { Description = "evaluate only the first N items" };
        var batch = CommonOptions.Batch("decode this many requests together (batched decoding: more answers per second; the same answers in fp32, " +
                                        "up to near-ties in bf16/int8); default 1", 1);
        var noPrefix = new Option<bool>("--no-prefix-cache")
        {
            Description = "prefill every prompt whole: by default a prompt about an image already seen continues from that image's " +
                          "stored prompt positions (faster; the same answers up to near-ties)",
        };
        var threads = CommonOptions.Threads();
        var cmd = new Command("run", "Run a model on a benchmark: generate, score, and write predictions, results, report and chart")
            { model, dataset, task, output, device, dtype, limit, batch, noPrefix, threads };
        cmd.SetAction((pr, ct) => CommandRunner.RunAsync(async () =>
        {
            var evalTask = EvalTasks.Get(pr.GetValue(task)!);
            var datasetPath = pr.GetValue(dataset)!;
            var items = Molmo.Eval.Benchmarks.BenchmarkReader.Read(datasetPath);
            var factory = ModelFactory ?? throw new InvalidOperationException(
                "eval run needs a model engine, and none is registered in this build (EvalCommand.ModelFactory is null). " +
                "Use `molmo eval score` on predictions made elsewhere, or a build that links the Molmo engine.");
            using var cpuThreads = CommonOptions.ApplyThreads(pr.GetValue(threads));
            var evalModel = factory(new EvalModelSpec(pr.GetValue(model)!, pr.GetValue(device)!, pr.GetValue(dtype)!, !pr.GetValue(noPrefix)));
            try
            {
                if (pr.GetValue(batch) > 1) Console.Error.WriteLine($"batched decoding: up to {pr.GetValue(batch)} requests per forward pass");
                var reporter = new ConsoleProgress();
                var result = await new EvalRunner(evalModel).RunAsync(items, evalTask, pr.GetValue(output)!,
                    new EvalRunOptions { Limit = pr.GetValue(limit), Batch = pr.GetValue(batch), DatasetName = Path.GetFileName(datasetPath) }, reporter, ct);
                reporter.Finish();
                Console.Out.WriteLine(JsonSerializer.Serialize(result.Summary, Json));
                Console.Error.WriteLine($"report: {result.ReportPath}");
                return 0;
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine("interrupted: finished items are saved; run the same command again to resume");
                throw;
            }
            finally
            {
                if (evalModel is IAsyncDisposable ad) await ad.DisposeAsync().ConfigureAwait(false);
                else if (evalModel is IDisposable d) d.Dispose();
            }
        }));
        return cmd;
    }

    static Command Convert()
    {
        var format = new Option<string>("--format")
        {
            Description = "public format: " + string.Join("; ", BenchmarkConverters.Formats.Select(f => $"{f.Name} ({f.Help})")), Required = true,
        };
        var input = new Option<string[]>("--input") { Description = "input file (repeatable)", Required = true, AllowMultipleArgumentsPerToken = false };
        var images = new Option<string?>("--images") { Description = "folder holding the benchmark images" };
        var annotations = new Option<string?>("--annotations") { Description = "vqav2: annotations JSON (answers)" };
        var questions = new Option<string?>("--questions") { Description = "countbenchqa: countbench_paired_questions.json" };
        var output = new Option<string>("--out") { Description = "output JSONL (images from Parquet go to <name>_images/ beside it)", Required = true };
        var cmd = new Command("convert", "Convert a public benchmark to the local JSONL format")
            { format, input, images, annotations, questions, output };
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            var res = BenchmarkConverters.Convert(pr.GetValue(format)!, new ConvertRequest
            {
                Inputs = pr.GetValue(input)!, ImagesDir = pr.GetValue(images), Annotations = pr.GetValue(annotations),
                Questions = pr.GetValue(questions), OutputPath = pr.GetValue(output)!,
            });
            foreach (var n in res.Notes) Console.Error.WriteLine($"note: {n}");
            Console.Out.WriteLine($"{res.Items.Count} items written to {res.OutputPath}" + (res.Skipped > 0 ? $" ({res.Skipped} skipped)" : ""));
            return 0;
        }));
        return cmd;
    }

    static Command Tasks()
    {
        var cmd = new Command("tasks", "List evaluation tasks with their style tag, max new tokens and metric");
        cmd.SetAction(pr => CommandRunner.Run(() =>
        {
            var table = new Table().AddColumns("task", "style", "prefix", "max new tokens", "metric", "description");
            foreach (var t in EvalTasks.All)
                table.AddRow(t.Name, t.Style, t.UsePrefix ? "yes" : "no", t.MaxNewTokens.ToString(CultureInfo.InvariantCulture),
                    t.Metric.ToName(), Markup.Escape(t.Description));
            AnsiConsole.Write(table);
            return 0;
        }));
        return cmd;
    }

    static string F(double v) => v.ToString("0.0", CultureInfo.InvariantCulture);

    /// <summary>Progress lines on stderr, at most one per second (plus the last).</summary>
    sealed class ConsoleProgress : IProgress<EvalProgress>
    {
        DateTime _last = DateTime.MinValue;
        EvalProgress? _latest;

        public void Report(EvalProgress p)
        {
            _latest = p;
            if ((DateTime.UtcNow - _last).TotalSeconds < 1 && p.Done < p.Total) return;
            _last = DateTime.UtcNow;
            Write(p);
        }

        public void Finish() { if (_latest != null) Write(_latest); }

        static void Write(EvalProgress p)
        {
            var eta = p.Eta is TimeSpan e ? $"ETA {(int)e.TotalHours:00}:{e.Minutes:00}:{e.Seconds:00}" : "ETA --:--:--";
            var resumed = p.Resumed > 0 ? $" ({p.Resumed} resumed)" : "";
            Console.Error.WriteLine(
                $"[{p.Done}/{p.Total}]{resumed} {100.0 * p.Done / Math.Max(1, p.Total):0.0}%  score {p.RunningScore:0.0}  {eta}");
        }
    }
}

/// <summary>What <c>eval run</c> asks <see cref="EvalCommand.ModelFactory"/> for: the model folder, the device ("cpu", "cuda",
/// "cuda:N"), the dtype ("fp32", "bf16", "int8", "int4"), and whether prompts may continue from stored ones (prefix caching).</summary>
public sealed record EvalModelSpec(string ModelDir, string Device, string DType, bool PrefixCache = true);
