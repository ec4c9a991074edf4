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
        var lines = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            File.WriteAllBytes(Path.Combine(data, $"img{i}.png"), DemoModel.DrawTestImage(200 + 40 * i, 150));
            lines.Add(JsonSerializer.Serialize(new { id = $"q{i}", image = $"img{i}.png", question = "What color is the circle?", answers = Enumerable.Repeat("red", 10) }));
        }
        var dataset = Path.Combine(data, "bench.jsonl");
        File.WriteAllLines(dataset, lines);
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
}
