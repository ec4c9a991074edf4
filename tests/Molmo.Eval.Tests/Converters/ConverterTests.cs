using System.Text.Json.Serialization;
using Molmo.Eval.Benchmarks;
using Molmo.Eval.Converters;
using Molmo.TestSupport;
using Parquet.Serialization;
using SkiaSharp;

namespace Molmo.Eval.Tests.Converters;

public class ConverterTests
{
    static byte[] PngBytes()
    {
        using var bmp = new SKBitmap(4, 3);
        bmp.Erase(SKColors.Red);
        using var img = SKImage.FromBitmap(bmp);
        using var data = img.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    static ConversionResult Run(string format, string dir, string[] inputs, string? images = null, string? annotations = null, string? questions = null)
    {
        var outPath = Path.Combine(dir, "out", format + ".jsonl");
        var res = BenchmarkConverters.Convert(format, new ConvertRequest
        {
            Inputs = inputs, ImagesDir = images, Annotations = annotations, Questions = questions, OutputPath = outPath,
        });
        Assert.Equal(outPath, res.OutputPath);
        return res;
    }

    [Fact]
    public void Vqav2_joins_questions_answers_and_coco_files()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-conv");
        var images = Directory.CreateDirectory(Path.Combine(dir, "val2014")).FullName;
        File.WriteAllBytes(Path.Combine(images, "COCO_val2014_000000000042.jpg"), PngBytes());
        File.WriteAllText(Path.Combine(dir, "q.json"),
            "{\"questions\": [{\"image_id\": 42, \"question\": \"What color?\", \"question_id\": 420}, {\"image_id\": 7, \"question\": \"x\", \"question_id\": 70}]}");
        File.WriteAllText(Path.Combine(dir, "a.json"),
            "{\"annotations\": [{\"question_id\": 420, \"image_id\": 42, \"answers\": [{\"answer\": \"red\", \"answer_id\": 1}, {\"answer\": \"blue\", \"answer_id\": 2}]}]}");
        var res = Run("vqav2", dir, [Path.Combine(dir, "q.json")], images, Path.Combine(dir, "a.json"));
        Assert.Equal(1, res.Skipped);
        var item = Assert.Single(BenchmarkReader.Read(res.OutputPath));
        Assert.Equal("420", item.Id);
        Assert.Equal(["red", "blue"], item.Answers);
        Assert.EndsWith("COCO_val2014_000000000042.jpg", item.ImagePath);
    }

    [Fact]
    public void Textvqa_docvqa_infovqa_json()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-conv");
        var images = Directory.CreateDirectory(Path.Combine(dir, "img")).FullName;
        File.WriteAllBytes(Path.Combine(images, "abc.jpg"), PngBytes());
        File.WriteAllBytes(Path.Combine(images, "doc1.png"), PngBytes());
        File.WriteAllText(Path.Combine(dir, "t.json"),
            "{\"data\": [{\"question_id\": 5, \"question\": \"brand?\", \"image_id\": \"abc\", \"answers\": [\"nokia\", \"nokia\"]}]}");
        var t = Assert.Single(BenchmarkReader.Read(Run("textvqa", dir, [Path.Combine(dir, "t.json")], images).OutputPath));
        Assert.Equal(("5", "brand?"), (t.Id, t.Question));

        File.WriteAllText(Path.Combine(dir, "d.json"),
            "{\"data\": [{\"questionId\": 9, \"question\": \"date?\", \"image\": \"documents/doc1.png\", \"answers\": [\"1 May 1990\"]}]}");
        var d = Assert.Single(BenchmarkReader.Read(Run("docvqa", dir, [Path.Combine(dir, "d.json")], images).OutputPath));
        Assert.Equal(["1 May 1990"], d.Answers);
        Assert.True(File.Exists(d.ImagePath));

        File.WriteAllText(Path.Combine(dir, "i.json"),
            "{\"data\": [{\"questionId\": 3, \"question\": \"how many?\", \"image_local_name\": \"doc1.png\", \"answers\": [\"3\", \"three\"]}]}");
        var i = Assert.Single(BenchmarkReader.Read(Run("infovqa", dir, [Path.Combine(dir, "i.json")], images).OutputPath));
        Assert.Equal(["3", "three"], i.Answers);

        File.WriteAllText(Path.Combine(dir, "bad.json"),
            "{\"data\": [{\"questionId\": 4, \"question\": \"q\", \"image_local_name\": \"missing.png\", \"answers\": [\"x\"]}]}");
        Assert.Contains("missing.png", Assert.Throws<FileNotFoundException>(() => Run("infovqa", dir, [Path.Combine(dir, "bad.json")], images)).Message);
    }

    [Fact]
    public void Chartqa_json_subsets()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-conv");
        var png = Directory.CreateDirectory(Path.Combine(dir, "png")).FullName;
        File.WriteAllBytes(Path.Combine(png, "1.png"), PngBytes());
        File.WriteAllText(Path.Combine(dir, "test_human.json"), "[{\"imgname\": \"1.png\", \"query\": \"How many?\", \"label\": \"14\"}]");
        File.WriteAllText(Path.Combine(dir, "test_augmented.json"), "[{\"imgname\": \"1.png\", \"query\": \"Max?\", \"label\": \"45%\"}]");
        var items = BenchmarkReader.Read(Run("chartqa", dir, [Path.Combine(dir, "test_human.json"), Path.Combine(dir, "test_augmented.json")], png).OutputPath);
        Assert.Equal(["human-0", "augmented-0"], items.Select(i => i.Id));
        Assert.Equal(["human", "augmented"], items.Select(i => i.Subset));
        Assert.Equal(["45%"], items[1].Answers);
    }

    public sealed class HfImage { [JsonPropertyName("bytes")] public byte[]? Bytes { get; set; } [JsonPropertyName("path")] public string? Path { get; set; } }
    public sealed class Ai2dRow
    {
        [JsonPropertyName("question")] public string Question { get; set; } = "";
        [JsonPropertyName("options")] public List<string> Options { get; set; } = [];
        [JsonPropertyName("answer")] public string Answer { get; set; } = "";
        [JsonPropertyName("image")] public HfImage? Image { get; set; }
    }
    public sealed class CountBenchRow
    {
        [JsonPropertyName("image_url")] public string Url { get; set; } = "";
        [JsonPropertyName("text")] public string Text { get; set; } = "";
        [JsonPropertyName("number")] public long Number { get; set; }
        [JsonPropertyName("image")] public HfImage? Image { get; set; }
    }
    public sealed class PixMoCountRow
    {
        [JsonPropertyName("image_url")] public string Url { get; set; } = "";
        [JsonPropertyName("image_sha256")] public string Sha { get; set; } = "";
        [JsonPropertyName("count")] public int Count { get; set; }
        [JsonPropertyName("label")] public string Label { get; set; } = "";
    }
    public sealed class DocRow
    {
        [JsonPropertyName("questionId")] public string QuestionId { get; set; } = "";
        [JsonPropertyName("question")] public string Question { get; set; } = "";
        [JsonPropertyName("answers")] public List<string> Answers { get; set; } = [];
        [JsonPropertyName("image")] public HfImage? Image { get; set; }
    }

    [Fact]
    public async Task Ai2d_parquet_resolves_the_answer_index()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-conv");
        var pq = Path.Combine(dir, "ai2d.parquet");
        await ParquetSerializer.SerializeAsync(new[]
        {
            new Ai2dRow { Question = "Stages?", Options = ["1", "2", "3", "4"], Answer = "1", Image = new HfImage { Bytes = PngBytes() } },
            new Ai2dRow { Question = "Which label?", Options = ["E", "K"], Answer = "0", Image = new HfImage { Bytes = PngBytes() } },
        }, pq);
        var items = BenchmarkReader.Read(Run("ai2d", dir, [pq]).OutputPath);
        Assert.Equal("2", items[0].Answer); // index 1 → option text "2"
        Assert.Equal("E", items[1].Answer);
        Assert.True(File.Exists(items[0].ImagePath));
        Assert.EndsWith(".png", items[0].ImagePath);
        Assert.Contains("ai2d_images", items[0].ImagePath);
    }

    [Fact]
    public async Task Docvqa_parquet()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-conv");
        var pq = Path.Combine(dir, "doc.parquet");
        await ParquetSerializer.SerializeAsync(new[] { new DocRow { QuestionId = "q/1", Question = "Total?", Answers = ["$5"], Image = new HfImage { Bytes = PngBytes() } } }, pq);
        var item = Assert.Single(BenchmarkReader.Read(Run("docvqa", dir, [pq]).OutputPath));
        Assert.Equal("q/1", item.Id);
        Assert.EndsWith("q_1.png", item.ImagePath); // unsafe id characters replaced in the file name
    }

    [Fact]
    public async Task Countbenchqa_zips_questions_and_drops_rows_without_images()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-conv");
        var pq = Path.Combine(dir, "cb.parquet");
        await ParquetSerializer.SerializeAsync(new[]
        {
            new CountBenchRow { Url = "u0", Text = "three dogs", Number = 3, Image = new HfImage { Bytes = PngBytes() } },
            new CountBenchRow { Url = "u1", Text = "two cats", Number = 2, Image = new HfImage() },
        }, pq);
        File.WriteAllText(Path.Combine(dir, "q.json"), "[{\"question\": \"How many dogs are there in the image?\"}, \"How many cats?\"]");
        var res = Run("countbenchqa", dir, [pq], questions: Path.Combine(dir, "q.json"));
        Assert.Equal(1, res.Skipped);
        var item = Assert.Single(BenchmarkReader.Read(res.OutputPath));
        Assert.Equal(("0", "How many dogs are there in the image?", "3"), (item.Id, item.Question, item.Answer));

        File.WriteAllText(Path.Combine(dir, "q1.json"), "[\"only one\"]");
        Assert.Contains("matched by position", Assert.Throws<InvalidDataException>(() => Run("countbenchqa", dir, [pq], questions: Path.Combine(dir, "q1.json"))).Message);
    }

    [Fact]
    public async Task Pixmo_count_finds_images_by_sha256()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-conv");
        var images = Directory.CreateDirectory(Path.Combine(dir, "imgs")).FullName;
        File.WriteAllBytes(Path.Combine(images, "aa11.jpg"), PngBytes());
        File.WriteAllBytes(Path.Combine(images, "photo.png"), PngBytes());
        var pq = Path.Combine(dir, "test.parquet");
        await ParquetSerializer.SerializeAsync(new[]
        {
            new PixMoCountRow { Url = "http://x/1.jpg", Sha = "aa11", Count = 4, Label = "Apples" },
            new PixMoCountRow { Url = "http://x/dir/photo.png?x=1", Sha = "zz", Count = 2, Label = "cars" },
            new PixMoCountRow { Url = "http://x/none.jpg", Sha = "bb", Count = 2, Label = "cats" },
        }, pq);
        var res = Run("pixmo_count", dir, [pq], images);
        Assert.Equal(1, res.Skipped);
        var items = BenchmarkReader.Read(res.OutputPath);
        Assert.Equal(["4", "2"], items.Select(i => i.Answer));
        Assert.Equal("Apples", items[0].Label);
        Assert.Equal("How many apples are there?", Molmo.Eval.Runner.EvalTasks.BuildPrompt(Molmo.Eval.Runner.EvalTasks.Get("pixmo_count"), items[0]));
    }

    public sealed class Pt { [JsonPropertyName("x")] public double X { get; set; } [JsonPropertyName("y")] public double Y { get; set; } }
    public sealed class PointsEvalRow
    {
        [JsonPropertyName("image_url")] public string Url { get; set; } = "";
        [JsonPropertyName("image_sha256")] public string Sha { get; set; } = "";
        [JsonPropertyName("label")] public string Label { get; set; } = "";
        [JsonPropertyName("points")] public List<Pt> Points { get; set; } = [];
        [JsonPropertyName("masks")] public List<List<List<bool>>> Masks { get; set; } = [];
    }

    [Fact]
    public async Task Pixmo_points_eval_writes_mask_pngs_that_score()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-conv");
        var images = Directory.CreateDirectory(Path.Combine(dir, "imgs")).FullName;
        File.WriteAllBytes(Path.Combine(images, "s1.png"), PngBytes()); // 4×3
        // One object: the 2×2 block in the top-left corner of a 4-wide, 3-high image.
        var mask = new List<List<bool>> { new() { true, true, false, false }, new() { true, true, false, false }, new() { false, false, false, false } };
        var pq = Path.Combine(dir, "pe.parquet");
        await ParquetSerializer.SerializeAsync(new[]
        {
            new PointsEvalRow { Url = "u", Sha = "s1", Label = "Cat", Points = [new Pt { X = 25, Y = 33 }], Masks = [mask] },
            new PointsEvalRow { Url = "u2", Sha = "s1", Label = "dog", Points = [], Masks = [] },
        }, pq);
        var res = Run("pixmo_points_eval", dir, [pq], images);
        var items = BenchmarkReader.Read(res.OutputPath);
        Assert.Equal(2, items.Count);
        Assert.Equal((4, 3), (items[0].Width, items[0].Height));
        var m = Assert.Single(items[0].Masks!).Load();
        Assert.True(m.Contains(1, 1));
        Assert.False(m.Contains(2, 0));
        Assert.Empty(items[1].Points!);
        Assert.Equal((4, 3), (items[1].Width, items[1].Height)); // from the image header

        var hit = Molmo.Eval.Scoring.ItemScorer.Score(Molmo.Eval.Scoring.MetricKind.Points, "<point x=\"30.0\" y=\"40.0\" alt=\"cat\">cat</point>", items[0]);
        Assert.Equal(1, hit.Score, 6);
        var miss = Molmo.Eval.Scoring.ItemScorer.Score(Molmo.Eval.Scoring.MetricKind.Points, "<point x=\"80.0\" y=\"40.0\" alt=\"cat\">cat</point>", items[0]);
        Assert.Equal(0, miss.Score);
    }

    [Fact]
    public void Unknown_format_and_missing_inputs()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-conv");
        Assert.Contains("expected one of", Assert.Throws<ArgumentException>(() => Run("mmmu", dir, ["x"])).Message);
        Assert.Throws<FileNotFoundException>(() => Run("chartqa", dir, [Path.Combine(dir, "nope.json")]));
        File.WriteAllText(Path.Combine(dir, "q.json"), "{\"questions\": []}");
        Assert.Contains("--images", Assert.Throws<ArgumentException>(() => Run("vqav2", dir, [Path.Combine(dir, "q.json")])).Message);
    }
}
