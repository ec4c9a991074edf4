using System.Text.Json;
using Molmo.TestSupport;

namespace Molmo.Tests.Cli;

/// <summary>`molmo eval run` with the real engine (random-weight demo model) on a small generated benchmark: report and resume.</summary>
[Collection("cli")]
public class EvalEndToEndTests
{
    [Fact]
    public void EvalRunGeneratesScoresReportsAndResumes()
    {
        var work = TestPaths.NewTempDir("molmo-eval-e2e");
        var modelDir = DemoModel.Create(Path.Combine(work, "model"));
        var data = Path.Combine(work, "bench");
        Directory.CreateDirectory(data);
        var dataset = WriteDataset(data, Enumerable.Range(0, 3).Select(i => (200 + 40 * i, 150)).ToArray(),
                                   Enumerable.Range(0, 3).Select(i => (i, "What color is the circle?", "red")));
        var outDir = Path.Combine(work, "out");

        var (code, output, err) = CliHarness.Run("eval", "run", "--model", modelDir, "--dataset", dataset, "--task", "vqav2", "--out", outDir, "--limit", "2");
        Assert.True(code == 0, err);
        using (var summary = JsonDocument.Parse(output))
            Assert.Equal(2, summary.RootElement.GetProperty("items").GetInt32());
        Assert.True(File.Exists(Path.Combine(outDir, "report.md")));
        var firstPredictions = File.ReadAllLines(Path.Combine(outDir, "predictions.jsonl"));
        Assert.Equal(2, firstPredictions.Length);

        // Second run over all 3 items: the 2 finished ones are resumed, not regenerated.
        var again = CliHarness.Run("eval", "run", "--model", modelDir, "--dataset", dataset, "--task", "vqav2", "--out", outDir);
        Assert.True(again.Code == 0, again.Err);
        Assert.Contains("(2 resumed)", again.Err);
        var predictions = File.ReadAllLines(Path.Combine(outDir, "predictions.jsonl"));
        Assert.Equal(3, predictions.Length);
        Assert.Equal(firstPredictions, predictions.Take(2));
    }

    /// <summary>Test drawings of the given sizes (img0.png, img1.png, …) and a vqav2-style JSONL of questions about them (ids
    /// q0, q1, … in order; each with its one answer ten times) in <paramref name="work"/>: the JSONL's path.</summary>
    static string WriteDataset(string work, (int W, int H)[] images, IEnumerable<(int Image, string Question, string Answer)> questions)
    {
        for (int i = 0; i < images.Length; i++) File.WriteAllBytes(Path.Combine(work, $"img{i}.png"), DemoModel.DrawTestImage(images[i].W, images[i].H));
        var dataset = Path.Combine(work, "bench.jsonl");
        File.WriteAllLines(dataset, questions.Select((q, n) => JsonSerializer.Serialize(new
        {
            id = $"q{n}", image = $"img{q.Image}.png", question = q.Question, answers = Enumerable.Repeat(q.Answer, 10),
        })));
        return dataset;
    }

    /// <summary>`eval run` of the vqav2 task into <paramref name="outDir"/>: its predictions file and its stderr.</summary>
    static (string Predictions, string Err) RunEval(string modelDir, string dataset, string outDir, string[] extra)
    {
        var (code, _, err) = CliHarness.Run(["eval", "run", "--model", modelDir, "--dataset", dataset, "--task", "vqav2", "--out", outDir, .. extra]);
        Assert.True(code == 0, err);
        return (File.ReadAllText(Path.Combine(outDir, "predictions.jsonl")), err);
    }

    [Fact]
    public void BatchedEvalGivesTheSamePredictions()
    {
        var work = TestPaths.NewTempDir("molmo-eval-batch");
        var modelDir = DemoModel.Create(Path.Combine(work, "model"));
        var dataset = WriteDataset(work, Enumerable.Range(0, 5).Select(i => (120 + 60 * i, 150 + 20 * i)).ToArray(),
                                   Enumerable.Range(0, 5).Select(i => (i, $"What is shape {i}?", "circle")));
        (string Predictions, string Err) Run(string name, params string[] extra) => RunEval(modelDir, dataset, Path.Combine(work, name), extra);
        var one = Run("one");
        var batched = Run("batched", "--batch", "2");
        Assert.Contains("batched decoding: up to 2 requests", batched.Err);
        Assert.Equal(one.Predictions, batched.Predictions);
        // The items' answers differ, so an answer recorded against the wrong item would show.
        var answers = one.Predictions.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                                     .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("prediction").GetString()).ToList();
        Assert.True(answers.Distinct().Count() > 1, string.Join(" | ", answers));
        var bad = CliHarness.Run("eval", "run", "--model", modelDir, "--dataset", dataset, "--task", "vqav2", "--out", Path.Combine(work, "bad"), "--batch", "0");
        Assert.NotEqual(0, bad.Code);
        Assert.Contains("--batch", bad.Err);
    }

    [Fact]
    public void QuestionsAboutOneImageContinueFromItsStoredPromptWithTheSamePredictions()
    {
        var work = TestPaths.NewTempDir("molmo-eval-prefix");
        var modelDir = DemoModel.Create(Path.Combine(work, "model"));
        var dataset = WriteDataset(work, [(160, 120), (240, 120)],
            from i in Enumerable.Range(0, 2) from q in new[] { "What color is the circle?", "How many shapes are there?" } select (i, q, "red"));
        (string Predictions, string Err) Run(string name, params string[] extra) => RunEval(modelDir, dataset, Path.Combine(work, name), extra);
        var cached = Run("cached");
        var whole = Run("whole", "--no-prefix-cache");
        var batched = Run("batched", "--batch", "4");
        // Each image's second question continues from its first one's prompt.
        Assert.Contains("prefix cache: 2 of 4 prompts continued from a stored one", cached.Err);
        Assert.Contains("prefix cache: 2 of 4 prompts", batched.Err);
        Assert.DoesNotContain("prefix cache", whole.Err);
        Assert.Equal(whole.Predictions, cached.Predictions);
        Assert.Equal(whole.Predictions, batched.Predictions);
    }
}
