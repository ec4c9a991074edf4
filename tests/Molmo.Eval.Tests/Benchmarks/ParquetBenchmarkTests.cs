using System.Text.Json.Serialization;
using Molmo.Eval.Benchmarks;
using Molmo.TestSupport;
using Parquet.Serialization;

namespace Molmo.Eval.Tests.Benchmarks;

public class ParquetBenchmarkTests
{
    public sealed class HfImage
    {
        [JsonPropertyName("bytes")] public byte[]? Bytes { get; set; }
        [JsonPropertyName("path")] public string? Path { get; set; }
    }

    public sealed class LocalRow
    {
        [JsonPropertyName("id")] public string Id { get; set; } = "";
        [JsonPropertyName("question")] public string Question { get; set; } = "";
        [JsonPropertyName("image")] public HfImage? Image { get; set; }
        [JsonPropertyName("answers")] public List<string> Answers { get; set; } = [];
        [JsonPropertyName("width")] public int Width { get; set; }
        [JsonPropertyName("points")] public string? Points { get; set; }
    }

    public sealed class BinaryRow
    {
        [JsonPropertyName("id")] public long Id { get; set; }
        [JsonPropertyName("question")] public string Question { get; set; } = "";
        [JsonPropertyName("image")] public byte[]? Image { get; set; }
        [JsonPropertyName("options")] public List<string> Options { get; set; } = [];
        [JsonPropertyName("answer")] public string Answer { get; set; } = "";
    }

    [Fact]
    public async Task Reads_local_format_parquet_with_hf_image_structs()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-pq");
        var path = Path.Combine(dir, "b.parquet");
        await ParquetSerializer.SerializeAsync(new[]
        {
            new LocalRow { Id = "a", Question = "q?", Image = new HfImage { Bytes = [1, 2, 3] }, Answers = ["x", "y"], Width = 5,
                Points = "[{\"x\": 1.5, \"y\": 2}]" },
            new LocalRow { Id = "b", Question = "r?", Image = new HfImage { Path = "img/b.png" }, Answers = ["z"], Width = 6 },
        }, path);
        var items = BenchmarkReader.Read(path);
        Assert.Equal(2, items.Count);
        Assert.Equal([1, 2, 3], items[0].ImageBytes);
        Assert.Equal(["x", "y"], items[0].Answers);
        Assert.Equal(5, items[0].Width);
        Assert.Equal([new PercentPoint(1.5, 2)], items[0].Points);
        Assert.Equal(Path.Combine(dir, "img", "b.png"), items[1].ImagePath);
        Assert.Null(items[1].ImageBytes);
    }

    [Fact]
    public async Task Reads_binary_image_column_and_numeric_ids()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-pq");
        var path = Path.Combine(dir, "b.parquet");
        await ParquetSerializer.SerializeAsync(new[]
        {
            new BinaryRow { Id = 7, Question = "Which?", Image = [9, 9], Options = ["cat", "dog"], Answer = "dog" },
        }, path);
        var item = Assert.Single(BenchmarkReader.Read(path));
        Assert.Equal("7", item.Id);
        Assert.Equal([9, 9], item.ImageBytes);
        Assert.Equal(["cat", "dog"], item.Options);
        Assert.Equal("dog", item.Answer);
    }

    [Fact]
    public void Jsonl_round_trip_and_errors()
    {
        var dir = TestPaths.NewTempDir("molmo-eval-pq");
        var path = Path.Combine(dir, "sub", "b.jsonl");
        var items = new[]
        {
            new BenchmarkItem { Id = "1", Question = "Qué?", ImagePath = Path.Combine(dir, "sub", "i", "x.png"), Answers = ["sí", "no"],
                Subset = "human" },
            new BenchmarkItem { Id = "2", ImageBytes = [1, 2], Options = ["a", "b"], Answer = "b", Label = "dog",
                Points = [new PercentPoint(1, 2)], Width = 3, Height = 4 },
        };
        BenchmarkJson.WriteJsonl(path, items);
        Assert.Contains("\"image\":\"i/x.png\"", File.ReadAllText(path));
        var back = BenchmarkReader.Read(path);
        Assert.Equal(items[0].ImagePath, back[0].ImagePath);
        Assert.Equal(items[0].Answers, back[0].Answers);
        Assert.Equal("human", back[0].Subset);
        Assert.Equal(items[1].ImageBytes, back[1].ImageBytes);
        Assert.Equal(items[1].Points, back[1].Points);
        Assert.Equal((3, 4), (back[1].Width, back[1].Height));

        File.WriteAllLines(path, ["{\"id\": 1, \"question\": \"a\"}", "{\"id\": 1, \"question\": \"b\"}"]);
        Assert.Contains("duplicate ids: 1", Assert.Throws<InvalidDataException>(() => BenchmarkReader.Read(path)).Message);
        File.WriteAllLines(path, ["{\"question\": \"a\"}"]);
        Assert.Contains("missing \"id\"", Assert.Throws<InvalidDataException>(() => BenchmarkReader.Read(path)).Message);
        File.WriteAllLines(path, ["{\"id\": 1, \"points\": [{\"x\": \"1\"}]}"]);
        Assert.Contains("each point", Assert.Throws<InvalidDataException>(() => BenchmarkReader.Read(path)).Message);
        File.WriteAllLines(path, ["{\"id\": 1, \"width\": 1.5}"]);
        Assert.Contains("\"width\" must be an integer", Assert.Throws<InvalidDataException>(() => BenchmarkReader.Read(path)).Message);
    }
}
