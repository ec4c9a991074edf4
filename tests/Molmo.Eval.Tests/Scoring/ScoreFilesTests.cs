using Molmo.Eval.Scoring;
using Molmo.TestSupport;

namespace Molmo.Eval.Tests.Scoring;

public class ScoreFilesTests
{
    static (string Pred, string Ref) Write(string[] predictions, string[] references)
    {
        var dir = TestPaths.NewTempDir("molmo-eval");
        var p = Path.Combine(dir, "p.jsonl");
        var r = Path.Combine(dir, "r.jsonl");
        File.WriteAllLines(p, predictions);
        File.WriteAllLines(r, references);
        return (p, r);
    }

    [Fact]
    public void Vqa_file_scoring_reports_both_variants()
    {
        var (p, r) = Write(
            ["{\"id\": \"q1\", \"prediction\": \"two\"}", "{\"id\": 2, \"prediction\": \"Answer: red\"}", "{\"id\": \"q3\", \"prediction\": \"\"}"],
            ["{\"id\": \"q1\", \"answers\": [\"2\",\"2\",\"2\",\"3\",\"3\",\"3\",\"3\",\"3\",\"3\",\"3\"]}",
             "{\"id\": 2, \"answers\": [\"red\",\"red\",\"blue\",\"blue\",\"blue\",\"blue\",\"blue\",\"blue\",\"blue\",\"blue\"]}",
             "{\"id\": \"q3\", \"answers\": [\"yes\"]}"]);
        var res = ScoreFiles.Score(MetricKind.Vqa, p, r);
        Assert.Equal("vqa", res.Summary.Metric);
        Assert.Equal(3, res.Summary.Items);
        Assert.Equal(1, res.Summary.Unparseable); // the empty prediction
        Assert.Equal(100 * (1.0 + 2.0 / 3 + 0) / 3, res.Summary.Score, 9);
        Assert.Equal(100 * (0.9 + 0.6 + 0) / 3, res.Summary.SubScores["vqa_official"], 9);
        var off = ScoreFiles.Score(MetricKind.VqaOfficial, p, r);
        Assert.Equal(100 * (0.9 + 0.6) / 3, off.Summary.Score, 9);
    }

    [Fact]
    public void Missing_ids_on_either_side_are_listed()
    {
        var (p, r) = Write(["{\"id\": \"a\", \"prediction\": \"x\"}", "{\"id\": \"extra\", \"prediction\": \"x\"}"],
            ["{\"id\": \"a\", \"answers\": [\"x\"]}", "{\"id\": \"b\", \"answers\": [\"x\"]}"]);
        var e = Assert.Throws<InvalidDataException>(() => ScoreFiles.Score(MetricKind.Anls, p, r));
        Assert.Contains("have no prediction: b", e.Message);
        Assert.Contains("have no reference: extra", e.Message);
    }

    [Fact]
    public void Bad_lines_name_file_and_line()
    {
        var (p, r) = Write(["{\"id\": \"a\", \"prediction\": \"x\"}", "not json"], ["{\"id\": \"a\", \"answers\": [\"x\"]}"]);
        var e = Assert.Throws<InvalidDataException>(() => ScoreFiles.Score(MetricKind.Anls, p, r));
        Assert.Contains("p.jsonl:2", e.Message);
        var (p2, r2) = Write(["{\"id\": \"a\"}"], ["{\"id\": \"a\", \"answers\": [\"x\"]}"]);
        Assert.Contains("missing \"prediction\"", Assert.Throws<InvalidDataException>(() => ScoreFiles.Score(MetricKind.Anls, p2, r2)).Message);
        var (p3, r3) = Write(["{\"id\": \"a\", \"prediction\": \"1\"}", "{\"id\": \"a\", \"prediction\": \"2\"}"], ["{\"id\": \"a\", \"answer\": 1}"]);
        Assert.Contains("duplicate id a", Assert.Throws<InvalidDataException>(() => ScoreFiles.Score(MetricKind.Count, p3, r3)).Message);
    }

    [Fact]
    public void Anls_and_relaxed_and_mc()
    {
        var (p, r) = Write(["{\"id\": \"a\", \"prediction\": \"dr smith\"}"], ["{\"id\": \"a\", \"answers\": [\"Dr. Smith\", \"Smith\"]}"]);
        Assert.Equal(88.89, ScoreFiles.Score(MetricKind.Anls, p, r).Summary.Score, 2);

        var (p2, r2) = Write(["{\"id\": \"h1\", \"prediction\": \"14.5\"}", "{\"id\": \"a1\", \"prediction\": \"0.0\"}"],
            ["{\"id\": \"h1\", \"answers\": [\"14\"], \"subset\": \"human\"}", "{\"id\": \"a1\", \"answers\": [\"0\"], \"subset\": \"augmented\"}"]);
        var rel = ScoreFiles.Score(MetricKind.Relaxed, p2, r2).Summary;
        Assert.Equal(50, rel.Score, 9);
        Assert.Equal(100, rel.SubScores["subset:human"]);
        Assert.Equal(0, rel.SubScores["subset:augmented"]);

        var (p3, r3) = Write(
            ["{\"id\": 1, \"prediction\": \"B\"}", "{\"id\": 2, \"prediction\": \"the moon\"}", "{\"id\": 3, \"prediction\": \"C\"}", "{\"id\": 4, \"prediction\": \"a\"}"],
            ["{\"id\": 1, \"answer\": \"moon\", \"options\": [\"sun\", \"moon\"]}",
             "{\"id\": 2, \"answer\": \"B\", \"options\": [\"the sun\", \"the moon\"], \"option_names\": [\"the sun\", \"the moon\"]}",
             "{\"id\": 3, \"answer\": 2, \"options\": [\"xx\", \"yy\", \"zz\"]}",
             "{\"id\": 4, \"answer\": \"A\", \"options\": [\"A\", \"B\", \"C\"]}"]);
        var mc = ScoreFiles.Score(MetricKind.MultipleChoice, p3, r3);
        Assert.Equal([1.0, 1.0, 1.0, 1.0], mc.Items.Select(i => i.Score));
        Assert.Equal(100, mc.Summary.Score);
        Assert.Equal("B", mc.Items[0].Parsed);
    }

    [Fact]
    public void Count_break_down()
    {
        var (p, r) = Write(
            ["{\"id\": 1, \"prediction\": \"Counting the <points x1=\\\"1.0\\\" y1=\\\"1.0\\\" x2=\\\"2.0\\\" y2=\\\"2.0\\\" alt=\\\"a\\\">a</points> shows a total of 2.\"}",
             "{\"id\": 2, \"prediction\": \"There are 4.\"}", "{\"id\": 3, \"prediction\": \"lots\"}", "{\"id\": 4, \"prediction\": \"3\"}"],
            ["{\"id\": 1, \"answer\": 2}", "{\"id\": 2, \"answer\": \"3\"}", "{\"id\": 3, \"answer\": 3}", "{\"id\": 4, \"answer\": 3}"]);
        var s = ScoreFiles.Score(MetricKind.Count, p, r).Summary;
        Assert.Equal(50, s.Score);
        Assert.Equal(1, s.Unparseable);
        Assert.Equal(75, s.SubScores["close"]);
        Assert.Equal(75, s.SubScores["valid"]);
        Assert.Equal(100, s.SubScores["correct_2"]);
        Assert.Equal(100.0 / 3, s.SubScores["correct_3"], 9);
        Assert.Equal((100 + 100.0 / 3) / 2, s.SubScores["per_category_average"], 9);
    }

    [Fact]
    public void Clock_scores()
    {
        var (p, r) = Write(["{\"id\": 1, \"prediction\": \"The time shown is 11:59\"}", "{\"id\": 2, \"prediction\": \"3:20\"}", "{\"id\": 3, \"prediction\": \"dunno\"}"],
            ["{\"id\": 1, \"answer\": \"12:00\"}", "{\"id\": 2, \"answer\": \"3:25\"}", "{\"id\": 3, \"answer\": \"1:00\"}"]);
        var s = ScoreFiles.Score(MetricKind.Clock, p, r).Summary;
        Assert.Equal(100.0 / 3, s.Score, 9);
        Assert.Equal(100.0 / 3, s.SubScores["hour"], 9);
        Assert.Equal(100.0 / 3, s.SubScores["minute"], 9); // 11:59 vs 0:00 → |Δ| = 59 counts as close
        Assert.Equal(1, s.Unparseable);

        var (p2, r2) = Write(["{\"id\": 1, \"prediction\": \"3:00\"}"], ["{\"id\": 1, \"answer\": \"three\"}"]);
        Assert.Contains("H:MM", Assert.Throws<InvalidDataException>(() => ScoreFiles.Score(MetricKind.Clock, p2, r2)).Message);
    }

    [Fact]
    public void Points_with_rle_png_and_inline_masks()
    {
        var dir = TestPaths.NewTempDir("molmo-eval");
        // 4×4 image; object 0 = top-left pixel block (0..1, 0..1), object 1 = bottom-right pixel (3, 3).
        var png = Path.Combine(dir, "m1.png");
        using (var bmp = new SkiaSharp.SKBitmap(4, 4))
        {
            bmp.Erase(SkiaSharp.SKColors.Black);
            bmp.SetPixel(3, 3, SkiaSharp.SKColors.White);
            using var img = SkiaSharp.SKImage.FromBitmap(bmp);
            using var data = img.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(png, data.ToArray());
        }
        // Column-major RLE of the top-left 2×2 block in a 4×4 mask: [0, 2, 2, 2, 10].
        File.WriteAllLines(Path.Combine(dir, "r.jsonl"),
        [
            "{\"id\": \"a\", \"width\": 4, \"height\": 4, \"points\": [{\"x\": 12.5, \"y\": 12.5}, {\"x\": 87.5, \"y\": 87.5}], \"masks\": [{\"size\": [4, 4], \"counts\": [0, 2, 2, 2, 10]}, \"m1.png\"]}",
            "{\"id\": \"b\", \"width\": 4, \"height\": 4, \"points\": [{\"x\": 12.5, \"y\": 12.5}], \"masks\": [[[1,1,0,0],[1,1,0,0],[0,0,0,0],[0,0,0,0]]]}",
            "{\"id\": \"c\", \"width\": 4, \"height\": 4, \"points\": []}",
            "{\"id\": \"d\", \"width\": 4, \"height\": 4, \"points\": [{\"x\": 12.5, \"y\": 12.5}], \"masks\": [[[1,1,0,0],[1,1,0,0],[0,0,0,0],[0,0,0,0]]]}",
        ]);
        File.WriteAllLines(Path.Combine(dir, "p.jsonl"),
        [
            "{\"id\": \"a\", \"prediction\": \"<points x1=\\\"10.0\\\" y1=\\\"10.0\\\" x2=\\\"80.0\\\" y2=\\\"80.0\\\" alt=\\\"o\\\">o</points>\"}",
            "{\"id\": \"b\", \"prediction\": \"(80.0, 80.0)\"}",
            "{\"id\": \"c\", \"prediction\": \"This isn't in the image.\"}",
            "{\"id\": \"d\", \"prediction\": \"I think it is at (10.0, 10.0)\"}",
        ]);
        var res = ScoreFiles.Score(MetricKind.Points, Path.Combine(dir, "p.jsonl"), Path.Combine(dir, "r.jsonl"));
        Assert.Equal([1.0, 0.0, 1.0, 0.0], res.Items.Select(i => Math.Round(i.Score, 6)));
        Assert.Equal(50, res.Summary.Score, 6);
        Assert.Equal(1, res.Summary.Unparseable); // "d" failed the format gate
        Assert.Equal(50, res.Summary.SubScores["precision"], 6);
    }

    [Fact]
    public void Points_errors_are_actionable()
    {
        var (p, r) = Write(["{\"id\": \"a\", \"prediction\": \"(1.0, 1.0)\"}"], ["{\"id\": \"a\", \"points\": [{\"x\": 1, \"y\": 1}]}"]);
        Assert.Contains("width", Assert.Throws<InvalidDataException>(() => ScoreFiles.Score(MetricKind.Points, p, r)).Message);
        var (p2, r2) = Write(["{\"id\": \"a\", \"prediction\": \"(1.0, 1.0)\"}"],
            ["{\"id\": \"a\", \"width\": 4, \"height\": 4, \"points\": [{\"x\": 1, \"y\": 1}], \"masks\": [{\"size\": [2, 2], \"counts\": [4]}]}"]);
        Assert.Contains("is 2x2, the image is 4x4", Assert.Throws<InvalidDataException>(() => ScoreFiles.Score(MetricKind.Points, p2, r2)).Message);
    }

    [Fact]
    public void Metric_names_round_trip()
    {
        foreach (var n in MetricNames.Names) Assert.Equal(n, MetricNames.Parse(n).ToName());
        Assert.Contains("vqa-official", Assert.Throws<ArgumentException>(() => MetricNames.Parse("bleu")).Message);
    }
}
