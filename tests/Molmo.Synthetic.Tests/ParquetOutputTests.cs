using Molmo.Synthetic.Inspection;
using Molmo.Synthetic.Parquet;
using Parquet;
using Parquet.Serialization;
using SkiaSharp;

namespace Molmo.Synthetic.Tests;

public class ParquetOutputTests
{
    [Theory]
    [InlineData(SyntheticKind.Clocks, new[] { "example_id", "image", "watchface_name", "time_format", "shows_seconds", "hour_visible", "minute_visible", "second_visible", "text", "question", "answer" })]
    [InlineData(SyntheticKind.Charts, new[] { "image_id", "image", "figure_type", "data_json", "questions" })]
    [InlineData(SyntheticKind.Tables, new[] { "image_id", "image", "questions" })]
    [InlineData(SyntheticKind.Docs, new[] { "image_id", "image", "questions" })]
    [InlineData(SyntheticKind.Count, new[] { "image_id", "image", "label", "count", "points", "question", "answer", "objects" })]
    public async Task WritesStandardSchemaThatReadsBackAndIsDeterministic(SyntheticKind kind, string[] columns)
    {
        using var dir = new TempDir();
        var req = new GenerationRequest(kind, 7, 42, 80) { RowGroupSize = 3, Threads = 2 };
        string a = dir.File("a.parquet"), b = dir.File("b.parquet"), c = dir.File("c.parquet");
        await SyntheticDatasetWriter.WriteAsync(req, a);
        await SyntheticDatasetWriter.WriteAsync(req with { Threads = 1 }, b);
        await SyntheticDatasetWriter.WriteAsync(req with { Seed = 43 }, c);
        // Same seed: byte-identical files whatever the thread count; another seed: different images.
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
        Assert.NotEqual(File.ReadAllBytes(a), File.ReadAllBytes(c));
        Assert.False(File.Exists(a + ".tmp"));

        await using (var fs = File.OpenRead(a))
        await using (var reader = await ParquetReader.CreateAsync(fs))
        {
            var names = reader.Schema.Fields.Select(f => f.Name).ToList();
            foreach (var col in columns) Assert.Contains(col, names);
            Assert.Equal(3, reader.RowGroupCount);
            Assert.Equal(kind.Name(), reader.CustomMetadata[SyntheticDatasetWriter.KindKey]);
            // image is the Hugging Face Image struct: bytes + path.
            Assert.Contains(reader.Schema.GetDataFields(), f => f.Path.ToString() == "image/bytes");
        }

        var file = await ImageParquetFile.OpenAsync(a);
        Assert.Equal(7, file.RowCount);
        var read = new List<ImageRow>();
        for (int i = 0; i < 7; i++)
        {
            var row = await file.ReadRowAsync(i);
            Assert.Equal(SyntheticDatasetWriter.GenerateRow(kind, 42, i, 80) switch
            {
                ClockRow r => r.Image.Bytes,
                DocRow r => r.Image.Bytes,
                CountRow r => r.Image.Bytes,
                _ => null,
            }, row.ImageBytes);
            using var bmp = SKBitmap.Decode(row.ImageBytes);
            Assert.Equal(80, bmp.Width);
            Assert.NotEmpty(row.QuestionAnswers);
            read.Add(row);
        }
        // The contact sheet lays the rows out 4 per line, each cell with its caption.
        using var sheet = ContactSheet.Render(read, 4, 100);
        Assert.Equal(4 * 100 + 5 * 6, sheet.Width);
        Assert.True(sheet.Height > 2 * 100);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => file.ReadRowAsync(7));
    }

    [Fact]
    public async Task TypedRowsRoundTrip()
    {
        using var dir = new TempDir();
        string path = dir.File("count.parquet");
        await SyntheticDatasetWriter.WriteAsync(new GenerationRequest(SyntheticKind.Count, 5, 1, 64), path);
        var rows = await SyntheticDatasetWriter.ReadAllAsync<CountRow>(path);
        Assert.Equal(5, rows.Count);
        for (int i = 0; i < 5; i++)
        {
            var want = Counting.CountSceneGenerator.Generate(1, i, 64).Row;
            Assert.Equal(want.Answer, rows[i].Answer);
            Assert.Equal(want.Points.Select(p => (p.X, p.Y)), rows[i].Points.Select(p => (p.X, p.Y)));
            Assert.Equal(want.Objects.Count, rows[i].Objects.Count);
        }
        var docs = dir.File("docs.parquet");
        await SyntheticDatasetWriter.WriteAsync(new GenerationRequest(SyntheticKind.Charts, 3, 1, 64), docs);
        var drows = await SyntheticDatasetWriter.ReadAllAsync<DocRow>(docs);
        Assert.Equal(Charts.ChartGenerator.Generate(1, 2, 64).Row.Questions.Select(q => q.Answer), drows[2].Questions.Select(q => q.Answer));
    }

    [Fact]
    public async Task NeverOverwritesWithoutPermission()
    {
        using var dir = new TempDir();
        string path = dir.File("x.parquet");
        File.WriteAllText(path, "keep me");
        var req = new GenerationRequest(SyntheticKind.Clocks, 2, 0, 48);
        var e = await Assert.ThrowsAsync<IOException>(() => SyntheticDatasetWriter.WriteAsync(req, path));
        Assert.Contains("--force", e.Message);
        Assert.Equal("keep me", File.ReadAllText(path));
        await SyntheticDatasetWriter.WriteAsync(req, path, overwrite: true);
        Assert.Equal(2, (await ImageParquetFile.OpenAsync(path)).RowCount);
    }

    [Fact]
    public async Task InspectsForeignParquetWithPlainBinaryColumn()
    {
        using var dir = new TempDir();
        string path = dir.File("foreign.parquet");
        using var surface = ImageEncoding.NewSurface(40, 30);
        surface.Canvas.Clear(SKColors.Teal);
        var png = ImageEncoding.Png(surface);
        var rows = new[] { new Foreign { Png = png, Question = "Point to the dot", Answer = "<point x=\"50.0\" y=\"50.0\" alt=\"dot\">dot</point>", Source = "test" } };
        await using (var fs = File.Create(path)) await ParquetSerializer.SerializeAsync(rows, fs);
        var file = await ImageParquetFile.OpenAsync(path);
        Assert.Equal("png_bytes", file.ImageColumn);
        var row = await file.ReadRowAsync(0);
        Assert.Equal(png, row.ImageBytes);
        Assert.Equal(("Point to the dot", rows[0].Answer), row.QuestionAnswers.Single());
        Assert.Contains(("source", "test"), row.Fields);
        var pts = RowAnnotator.PixelPoints(row, 40, 30);
        Assert.Equal(new SKPoint(20, 15), Assert.Single(pts));
        using var shown = RowAnnotator.Render(row, 200);
        Assert.Equal(200, shown.Width);
        // The point is drawn on the image: its pixel is no longer teal.
        Assert.NotEqual(SKColors.Teal, shown.GetPixel(100, 75));
        using var sheet = ContactSheet.Render([row, row], 4, 100);
        Assert.True(sheet.Width > 200);

        string bad = dir.File("noimage.parquet");
        await using (var fs = File.Create(bad)) await ParquetSerializer.SerializeAsync(new[] { new NoImage { Name = "a" } }, fs);
        var err = await Assert.ThrowsAsync<InvalidDataException>(() => ImageParquetFile.OpenAsync(bad));
        Assert.Contains("no image-bytes column", err.Message);
    }

    sealed class Foreign
    {
        [System.Text.Json.Serialization.JsonPropertyName("png_bytes")] public byte[]? Png { get; set; }
        [System.Text.Json.Serialization.JsonPropertyName("question")] public string Question { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("answer")] public string Answer { get; set; } = "";
        [System.Text.Json.Serialization.JsonPropertyName("source")] public string Source { get; set; } = "";
    }

    sealed class NoImage { public string Name { get; set; } = ""; }
}
