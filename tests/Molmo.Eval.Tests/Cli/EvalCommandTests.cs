using System.Text.Json;
using Molmo.Cli.Commands;
using Molmo.Eval.Tests.Runner;
using Molmo.TestSupport;
using SkiaSharp;

namespace Molmo.Eval.Tests.Cli;

/// <summary>`molmo eval …` invoked in-process. One class, so the console redirection is never shared between parallel tests.</summary>
public class EvalCommandTests
{
    static readonly object ConsoleLock = new();

    static (int Code, string Out, string Err) Invoke(params string[] args)
    {
        lock (ConsoleLock)
        {
            var oldOut = Console.Out; var oldErr = Console.Error;
            var o = new StringWriter(); var e = new StringWriter();
            Console.SetOut(o); Console.SetError(e);
            try { return (Molmo.Cli.Program.BuildRoot().Parse(args).Invoke(), o.ToString(), e.ToString()); }
            finally { Console.SetOut(oldOut); Console.SetError(oldErr); }
        }
    }

    [Fact]
    public void Score_prints_one_json_object_and_writes_out_file()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-cli");
        File.WriteAllLines(Path.Combine(dir, "p.jsonl"), ["{\"id\": \"a\", \"prediction\": \"14.5\"}", "{\"id\": \"b\", \"prediction\": \"\"}"]);
        File.WriteAllLines(Path.Combine(dir, "r.jsonl"), ["{\"id\": \"a\", \"answers\": [\"14\"]}", "{\"id\": \"b\", \"answers\": [\"0\"]}"]);
        var (code, stdout, _) = Invoke("eval", "score", "--metric", "relaxed", "--predictions", Path.Combine(dir, "p.jsonl"),
            "--references", Path.Combine(dir, "r.jsonl"), "--out", Path.Combine(dir, "s.json"));
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal("relaxed", doc.RootElement.GetProperty("metric").GetString());
        Assert.Equal(50, doc.RootElement.GetProperty("score").GetDouble());
        Assert.Equal(2, doc.RootElement.GetProperty("items").GetInt32());
        Assert.Equal(1, doc.RootElement.GetProperty("unparseable").GetInt32());
        using var saved = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "s.json")));
        Assert.Equal(2, saved.RootElement.GetProperty("items").GetArrayLength());

        File.WriteAllLines(Path.Combine(dir, "r.jsonl"), ["{\"id\": \"a\", \"answers\": [\"14\"]}", "{\"id\": \"zz\", \"answers\": [\"0\"]}"]);
        var (code2, _, err2) = Invoke("eval", "score", "--metric", "relaxed", "--predictions", Path.Combine(dir, "p.jsonl"),
            "--references", Path.Combine(dir, "r.jsonl"));
        Assert.Equal(1, code2);
        Assert.Contains("no prediction: zz", err2);
        Assert.Contains("no reference: b", err2);

        var (code3, _, err3) = Invoke("eval", "score", "--metric", "bleu", "--predictions", "x", "--references", "y");
        Assert.Equal(1, code3);
        Assert.Contains("unknown metric 'bleu'", err3);
    }

    [Fact]
    public void Elo_json_with_ties_and_dropped_lines()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-cli");
        var lines = new List<string>();
        for (int i = 0; i < 30; i++) lines.Add("{\"a\": \"x\", \"b\": \"y\", \"winner\": \"tie\"}");
        lines.Add("{\"a\": \"x\", \"b\": \"y\", \"winner\": \"dont_know\"}");
        File.WriteAllLines(Path.Combine(dir, "c.jsonl"), lines);
        var (code, stdout, _) = Invoke("eval", "elo", "--comparisons", Path.Combine(dir, "c.jsonl"), "--json", "--bootstrap", "50");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(30, doc.RootElement.GetProperty("comparisons").GetInt32());
        Assert.Equal(1, doc.RootElement.GetProperty("dropped").GetInt32());
        foreach (var r in doc.RootElement.GetProperty("ratings").EnumerateArray())
            Assert.Equal(1000, r.GetProperty("rating").GetDouble());

        File.WriteAllLines(Path.Combine(dir, "bad.jsonl"), ["{\"a\": \"x\", \"b\": \"y\", \"winner\": \"c\"}"]);
        var (code2, _, err2) = Invoke("eval", "elo", "--comparisons", Path.Combine(dir, "bad.jsonl"));
        Assert.Equal(1, code2);
        Assert.Contains("bad.jsonl:1", err2);
    }

    [Fact]
    public void Run_uses_the_model_factory_and_limit_and_fails_clearly_without_one()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-cli");
        var img = Path.Combine(dir, "i.png");
        using (var bmp = new SKBitmap(5, 5))
        using (var image = SKImage.FromBitmap(bmp))
        using (var data = image.Encode(SKEncodedImageFormat.Png, 100))
            File.WriteAllBytes(img, data.ToArray());
        File.WriteAllLines(Path.Combine(dir, "d.jsonl"),
        [
            "{\"id\": \"1\", \"image\": \"i.png\", \"question\": \"Total?\", \"answers\": [\"ITC\"]}",
            "{\"id\": \"2\", \"image\": \"i.png\", \"question\": \"Name?\", \"answers\": [\"Smith\"]}",
            "{\"id\": \"3\", \"image\": \"i.png\", \"question\": \"Year?\", \"answers\": [\"1995\"]}",
        ]);
        var args = new[] { "eval", "run", "--model", "/models/x", "--dataset", Path.Combine(dir, "d.jsonl"), "--task", "docvqa",
            "--out", Path.Combine(dir, "out"), "--limit", "2", "--device", "cuda:1" };

        var old = EvalCommand.ModelFactory;
        try
        {
            EvalCommand.ModelFactory = null;
            var (code0, _, err0) = Invoke(args);
            Assert.Equal(1, code0);
            Assert.Contains("ModelFactory is null", err0);

            FakeModel? made = null;
            EvalModelSpec? seen = null;
            EvalCommand.ModelFactory = spec =>
            {
                seen = spec;
                return made = new FakeModel(new Dictionary<string, string> { ["1"] = "ITC", ["2"] = "Smyth" });
            };
            var (code, stdout, err) = Invoke(args);
            Assert.Equal(0, code);
            Assert.Equal(new EvalModelSpec("/models/x", "cuda:1", "fp32", PrefixCache: true), seen);
            Assert.Equal(["doc_qa: Total?", "doc_qa: Name?"], made!.Requests.Select(r => r.Prompt));
            using var doc = JsonDocument.Parse(stdout);
            Assert.Equal("anls", doc.RootElement.GetProperty("metric").GetString());
            Assert.Equal(2, doc.RootElement.GetProperty("items").GetInt32());
            Assert.Equal(100 * (1 + 0.8) / 2, doc.RootElement.GetProperty("score").GetDouble(), 9);
            Assert.Contains("[2/2]", err);
            Assert.Contains("ETA", err);
            Assert.True(File.Exists(Path.Combine(dir, "out", "report.md")));
            // --no-prefix-cache reaches the engine (every prompt prefilled whole).
            Assert.Equal(0, Invoke([.. args.Select(a => a == Path.Combine(dir, "out") ? Path.Combine(dir, "out2") : a), "--no-prefix-cache"]).Code);
            Assert.False(seen!.PrefixCache);
        }
        finally { EvalCommand.ModelFactory = old; }
    }

    [Fact]
    public void Convert_writes_the_local_format()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-cli");
        Directory.CreateDirectory(Path.Combine(dir, "png"));
        File.WriteAllBytes(Path.Combine(dir, "png", "1.png"), [0x89, (byte)'P', (byte)'N', (byte)'G']);
        File.WriteAllText(Path.Combine(dir, "test_human.json"), "[{\"imgname\": \"1.png\", \"query\": \"How many?\", \"label\": \"14\"}]");
        File.WriteAllText(Path.Combine(dir, "test_augmented.json"), "[{\"imgname\": \"1.png\", \"query\": \"Max?\", \"label\": \"3\"}]");
        var (code, stdout, _) = Invoke("eval", "convert", "--format", "chartqa", "--input", Path.Combine(dir, "test_human.json"),
            "--input", Path.Combine(dir, "test_augmented.json"), "--images", Path.Combine(dir, "png"), "--out", Path.Combine(dir, "chartqa.jsonl"));
        Assert.Equal(0, code);
        Assert.Contains("2 items written", stdout);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(dir, "chartqa.jsonl")).Length);
    }
}
