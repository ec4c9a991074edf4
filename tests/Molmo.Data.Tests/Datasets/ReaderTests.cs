using Molmo.Data.Datasets;
using Molmo.Data.Parquet;
using Molmo.Data.Tests.Fixtures;
using static Molmo.Data.Tests.Fixtures.ParquetFixture;

namespace Molmo.Data.Tests.Datasets;

public class ReaderTests
{
    static async Task<List<T>> ReadAll<T>(PixmoReader<T> reader, string path)
    {
        var list = new List<T>();
        await foreach (var r in reader.ReadAsync(path)) list.Add(r);
        return list;
    }

    [Fact]
    public async Task Cap_reads_caption_and_transcripts_across_row_groups()
    {
        var path = PixmoFixtures.TempFile("cap.parquet");
        await WriteAsync(path, PixmoFixtures.Cap,
        [
            new() { ["image_url"] = "https://a/1.jpg", ["caption"] = "A red car.", ["transcripts"] = Strings("so a car", "red car") },
            new() { ["image_url"] = "https://a/2.jpg", ["caption"] = "A dog.", ["transcripts"] = Strings("dog") },
            new() { ["image_url"] = "https://a/3.jpg", ["caption"] = "Empty.", ["transcripts"] = Strings() },
        ]);
        await using (var f = await ParquetDatasetFile.OpenAsync(path)) Assert.Equal(2, f.RowGroupCount);
        var rows = await ReadAll(new PixmoCapReader(), path);
        Assert.Equal(3, rows.Count);
        Assert.Equal("https://a/1.jpg", rows[0].ImageUrl);
        Assert.Equal("A red car.", rows[0].Caption);
        Assert.Equal(["so a car", "red car"], rows[0].Transcripts);
        Assert.Equal(["dog"], rows[1].Transcripts);
        Assert.Empty(rows[2].Transcripts);
        Assert.Null(rows[0].ImageSha256);
    }

    [Fact]
    public async Task AskModelAnything_reads_question_answer_and_groups_per_image()
    {
        var path = PixmoFixtures.TempFile("ama.parquet");
        await WriteAsync(path, PixmoFixtures.AskModelAnything,
        [
            new() { ["image_url"] = "u1", ["image_sha256"] = "aa", ["question"] = "q1", ["answer"] = "a1" },
            new() { ["image_url"] = "u2", ["image_sha256"] = "bb", ["question"] = "q2", ["answer"] = "a2" },
            new() { ["image_url"] = "u1", ["image_sha256"] = "aa", ["question"] = "q3", ["answer"] = "a3" },
        ], rowGroupSize: 1);
        var rows = await ReadAll(new PixmoAskModelAnythingReader(), path);
        Assert.Equal(["q1", "q2", "q3"], rows.Select(r => r.Question));
        Assert.Equal("a3", rows[2].Answer);

        var groups = new List<ImageGroup<PixmoAskModelAnythingRow>>();
        await foreach (var g in new PixmoAskModelAnythingReader().ReadGroupedAsync(path)) groups.Add(g);
        // u2 completes first (its only row is row 1); u1 completes at row 2, spanning three row groups.
        Assert.Equal(["u2", "u1"], groups.Select(g => g.ImageUrl));
        Assert.Equal(["q1", "q3"], groups[1].Rows.Select(r => r.Question));
        Assert.Equal("aa", groups[1].ImageSha256);

        // Shards: u1's rows are split over two files and still form one group.
        var second = PixmoFixtures.TempFile("ama-2.parquet");
        await WriteAsync(second, PixmoFixtures.AskModelAnything,
            [new() { ["image_url"] = "u1", ["image_sha256"] = "aa", ["question"] = "q4", ["answer"] = "a4" }]);
        var sharded = new List<ImageGroup<PixmoAskModelAnythingRow>>();
        await foreach (var g in new PixmoAskModelAnythingReader().ReadGroupedAsync([path, second])) sharded.Add(g);
        Assert.Equal(["u2", "u1"], sharded.Select(g => g.ImageUrl));
        Assert.Equal(["q1", "q3", "q4"], sharded[1].Rows.Select(r => r.Question));
    }

    [Fact]
    public async Task Points_reads_percent_points_count_and_not_present_rows()
    {
        var path = PixmoFixtures.TempFile("points.parquet");
        await WriteAsync(path, PixmoFixtures.Points,
        [
            new() { ["image_url"] = "u1", ["image_sha256"] = "s1", ["points"] = Pts((79.87, 71.57), (10.99, 84.14)), ["count"] = 2L,
                    ["label"] = "black bomb", ["collection_method"] = "counting" },
            new() { ["image_url"] = "u1", ["image_sha256"] = "s1", ["points"] = Pts(), ["count"] = 0L,
                    ["label"] = "giraffe", ["collection_method"] = "pointing" },
            new() { ["image_url"] = "u2", ["image_sha256"] = "s2", ["points"] = Pts((50, 50)), ["count"] = 1L,
                    ["label"] = "sun", ["collection_method"] = "pointing" },
        ]);
        var rows = await ReadAll(new PixmoPointsReader(), path);
        Assert.Equal([new PixmoPoint(79.87, 71.57), new PixmoPoint(10.99, 84.14)], rows[0].Points);
        Assert.Equal(2, rows[0].Count);
        Assert.Equal("counting", rows[0].CollectionMethod);
        Assert.Empty(rows[1].Points);
        Assert.Equal(0, rows[1].Count);
        Assert.Equal(CoordinateUnit.Percent, rows[2].Unit);

        var groups = new List<ImageGroup<PixmoPointsRow>>();
        await foreach (var g in new PixmoPointsReader().ReadGroupedAsync(path)) groups.Add(g);
        Assert.Equal(2, groups.Count);
        Assert.Equal(["black bomb", "giraffe"], groups[0].Rows.Select(r => r.Label));
    }

    [Fact]
    public async Task PointsEval_reads_masks_at_original_resolution()
    {
        var path = PixmoFixtures.TempFile("points-eval.parquet");
        // One 2x3 mask with the pixel at (x=2, y=1) set, for the one point at 90 %, 75 %.
        var mask = new List<IEnumerable<IEnumerable<bool?>>>
        {
            new List<IEnumerable<bool?>> { new List<bool?> { false, false, false }, new List<bool?> { false, false, true } },
        };
        await WriteAsync(path, PixmoFixtures.PointsEval,
        [
            new() { ["image_url"] = "u1", ["image_sha256"] = "s1", ["label"] = "cup", ["points"] = Pts((90, 75)), ["masks"] = mask },
            new() { ["image_url"] = "u2", ["image_sha256"] = "s2", ["label"] = "absent thing", ["points"] = Pts(),
                    ["masks"] = new List<IEnumerable<IEnumerable<bool?>>>() },
        ]);
        var rows = await ReadAll(new PixmoPointsEvalReader(), path);
        var m = Assert.Single(rows[0].Masks);
        Assert.Equal((2, 3), (m.Height, m.Width));
        Assert.True(m[1, 2]);
        Assert.False(m[0, 2]);
        Assert.True(m.ContainsPercent(rows[0].Points[0]));
        Assert.Empty(rows[1].Points);
        Assert.Empty(rows[1].Masks);

        var noMasks = await ReadAll(new PixmoPointsEvalReader(loadMasks: false), path);
        Assert.Empty(noMasks[0].Masks);
        Assert.Equal("cup", noMasks[0].Label);
        await foreach (var g in new PixmoPointsEvalReader(loadMasks: false).ReadGroupedAsync(path))
            Assert.All(g.Rows, r => Assert.Empty(r.Masks));
    }

    [Fact]
    public async Task PointExplanations_reads_nested_point_lists_and_drops_null_responses()
    {
        var path = PixmoFixtures.TempFile("point-explanations.parquet");
        var nested = new List<IEnumerable<IDictionary<string, object>>>
        {
            new List<IDictionary<string, object>> { new Dictionary<string, object> { ["x"] = 21.3, ["y"] = 55.0 } },
            new List<IDictionary<string, object>>
            {
                new Dictionary<string, object> { ["x"] = 60.0, ["y"] = 10.0 }, new Dictionary<string, object> { ["x"] = 70.0, ["y"] = 12.5 },
            },
        };
        await WriteAsync(path, PixmoFixtures.PointExplanations,
        [
            new() { ["image_url"] = "u1", ["image_sha256"] = "s1", ["question"] = "Which is ripest?",
                    ["parsed_response"] = "The banana on the left <|POINT|> beats the apples <|POINT|>.",
                    ["inline_text"] = Strings("banana on the left", "apples"), ["alt_text"] = Strings("ripest banana", "apples"),
                    ["points"] = nested },
            new() { ["image_url"] = "u1", ["image_sha256"] = "s1", ["question"] = "Unanswered?", ["parsed_response"] = null,
                    ["inline_text"] = Strings(), ["alt_text"] = Strings(), ["points"] = new List<IEnumerable<IDictionary<string, object>>>() },
        ]);
        var reader = new PixmoPointExplanationsReader();
        var rows = await ReadAll(reader, path);
        var row = Assert.Single(rows);
        Assert.Equal(1, reader.DroppedRows);
        Assert.Equal(2, row.Points.Count);
        Assert.Equal([new PixmoPoint(21.3, 55.0)], row.Points[0]);
        Assert.Equal([new PixmoPoint(60, 10), new PixmoPoint(70, 12.5)], row.Points[1]);
        Assert.Equal(["ripest banana", "apples"], row.AltText);
    }

    [Fact]
    public async Task CapQa_reads_message_lists()
    {
        var path = PixmoFixtures.TempFile("cap-qa.parquet");
        await WriteAsync(path, PixmoFixtures.CapQa,
        [
            new() { ["image_url"] = "u1", ["question"] = "What is it?", ["answer"] = "A cat.",
                    ["messages"] = Strings("What is it?", "A cat.", "How many cats?", "One.") },
        ]);
        var row = Assert.Single(await ReadAll(new PixmoCapQaReader(), path));
        Assert.Equal(4, row.Messages.Count);
        Assert.Equal("How many cats?", row.Messages[2]);
        Assert.Equal("What is it?", row.Question);
    }

    [Fact]
    public async Task Docs_reads_embedded_image_and_question_struct_of_lists()
    {
        var dir = Path.GetDirectoryName(PixmoFixtures.TempFile("x"))!;
        var path = Path.Combine(dir, "tables", "validation-00000-of-00001.parquet");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        byte[] png = [0x89, 0x50, 0x4E, 0x47, 1, 2, 3];
        await WriteAsync(path, PixmoFixtures.Docs,
        [
            new() { ["image"] = new Dictionary<string, object?> { ["bytes"] = Bytes(png), ["path"] = "t1.png" }, ["image_id"] = "t1",
                    ["questions"] = new Dictionary<string, object?> { ["question"] = Strings("Total?", "Year?"), ["answer"] = Strings("42", "2019") } },
        ]);
        var row = Assert.Single(await ReadAll(new PixmoDocsReader(), path));
        Assert.Equal(PixmoDocsConfig.Tables, row.Config);
        Assert.Equal("pixmo_docs_tables", row.Style);
        Assert.Equal(png, row.ImageBytes);
        Assert.Equal("t1.png", row.ImagePath);
        Assert.Equal([new DocsQuestion("Total?", "42"), new DocsQuestion("Year?", "2019")], row.Questions);

        var flat = PixmoFixtures.TempFile("docs.parquet");
        File.Copy(path, flat);
        await Assert.ThrowsAsync<ArgumentException>(async () => await ReadAll(new PixmoDocsReader(), flat));
        Assert.Equal(PixmoDocsConfig.Charts, Assert.Single(await ReadAll(new PixmoDocsReader(PixmoDocsConfig.Charts), flat)).Config);
    }

    [Fact]
    public async Task Clocks_reads_visible_time_fields()
    {
        var path = PixmoFixtures.TempFile("clocks.parquet");
        await WriteAsync(path, PixmoFixtures.Clocks,
        [
            new() { ["example_id"] = "zUwejbxxud/003_2020-06-28T08:15:30.833859_lggwatchr", ["watchface_id"] = "zUwejbxxud",
                    ["watchface_name"] = "lggwatchr", ["watch_time"] = "003_2020-06-28T08:15:30", ["time_format"] = "Without AM/PM",
                    ["shows_seconds"] = true, ["hour_visible"] = 8L, ["minute_visible"] = 15L, ["second_visible"] = 30L, ["text"] = "8:15:30" },
            new() { ["example_id"] = "e2", ["watchface_id"] = "abcdefghij", ["watchface_name"] = "galaxywatch6classicblack",
                    ["watch_time"] = "t", ["time_format"] = "With AM/PM", ["shows_seconds"] = false, ["hour_visible"] = 23L,
                    ["minute_visible"] = 57L, ["second_visible"] = -1L, ["text"] = "11:57 PM" },
        ]);
        var rows = await ReadAll(new PixmoClocksReader(), path);
        Assert.Equal(8, rows[0].HourVisible);
        Assert.True(rows[0].ShowsSeconds);
        Assert.Equal("lggwatchr", rows[0].WatchfaceName);
        Assert.Equal(-1, rows[1].SecondVisible);
        Assert.Equal("With AM/PM", rows[1].TimeFormat);
    }

    [Fact]
    public async Task Count_reads_pixel_points_in_both_sequence_layouts_and_converts_to_percent()
    {
        var path = PixmoFixtures.TempFile("count.parquet");
        await WriteAsync(path, PixmoFixtures.Count,
        [
            new() { ["image_url"] = "u1", ["image_sha256"] = "s1", ["count"] = 2,
                    ["points"] = new Dictionary<string, object?> { ["x"] = new List<float?> { 320f, 64f }, ["y"] = new List<float?> { 240f, 48f } },
                    ["label"] = "person" },
            new() { ["image_url"] = "u2", ["image_sha256"] = "s2", ["count"] = 5,
                    ["points"] = new Dictionary<string, object?> { ["x"] = new List<float?>(), ["y"] = new List<float?>() }, ["label"] = "car" },
        ]);
        var rows = await ReadAll(new PixmoCountReader(), path);
        Assert.Equal(CoordinateUnit.Pixels, rows[0].Unit);
        Assert.Equal([new PixmoPoint(320, 240), new PixmoPoint(64, 48)], rows[0].Points);
        Assert.Equal([new PixmoPoint(50, 50), new PixmoPoint(10, 10)], rows[0].PercentPoints(640, 480));
        Assert.Empty(rows[1].Points); // validation/test rows carry only the count
        Assert.Equal(5, rows[1].Count);

        var alt = PixmoFixtures.TempFile("count-list.parquet");
        await WriteAsync(alt, PixmoFixtures.CountListOfStructs,
        [
            new() { ["image_url"] = "u1", ["image_sha256"] = "s1", ["count"] = 1,
                    ["points"] = new List<Dictionary<string, object?>> { Pt32(10f, 20f) }, ["label"] = "dog" },
        ]);
        Assert.Equal([new PixmoPoint(10, 20)], Assert.Single(await ReadAll(new PixmoCountReader(), alt)).Points);
    }

    [Fact]
    public async Task Schema_mismatch_names_the_column()
    {
        // pixmo-points with `points` as a list of strings and no collection_method.
        var path = PixmoFixtures.TempFile("bad-points.parquet");
        var schema = new global::Parquet.Schema.ParquetSchema(Str("image_url"), Str("image_sha256"), List("points", Str("element")),
            I64("count"), Str("label"), Str("collection_method"));
        await WriteAsync(path, schema,
        [
            new() { ["image_url"] = "u", ["image_sha256"] = "s", ["points"] = Strings("1,2"), ["count"] = 1L, ["label"] = "l",
                    ["collection_method"] = "pointing" },
        ]);
        var e = await Assert.ThrowsAsync<SchemaMismatchException>(async () => await ReadAll(new PixmoPointsReader(), path));
        Assert.Equal("points", e.Column);
        Assert.Contains("'points'", e.Message);
        Assert.Contains("list<string>", e.Message);
        Assert.Contains("list<struct<x: float64, y: float64>>", e.Message);

        var missing = PixmoFixtures.TempFile("no-label.parquet");
        await WriteAsync(missing, new global::Parquet.Schema.ParquetSchema(Str("image_url"), Str("image_sha256"), Str("question")),
            [new() { ["image_url"] = "u", ["image_sha256"] = "s", ["question"] = "q" }]);
        var m = await Assert.ThrowsAsync<SchemaMismatchException>(async () => await ReadAll(new PixmoAskModelAnythingReader(), missing));
        Assert.Equal("answer", m.Column);
        Assert.Contains("missing", m.Message);
    }

    [Fact]
    public async Task Not_a_parquet_file_fails_with_the_path()
    {
        var path = PixmoFixtures.TempFile("junk.parquet");
        await File.WriteAllTextAsync(path, "not parquet at all");
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => ParquetDatasetFile.OpenAsync(path));
        Assert.Contains(path, e.Message);
    }

    [Theory]
    [InlineData("cap", PixmoDatasetKind.Cap)]
    [InlineData("ama", PixmoDatasetKind.AskModelAnything)]
    [InlineData("points", PixmoDatasetKind.Points)]
    [InlineData("count", PixmoDatasetKind.Count)]
    [InlineData("clocks", PixmoDatasetKind.Clocks)]
    [InlineData("capqa", PixmoDatasetKind.CapQa)]
    [InlineData("docs", PixmoDatasetKind.Docs)]
    [InlineData("eval", PixmoDatasetKind.PointsEval)]
    [InlineData("expl", PixmoDatasetKind.PointExplanations)]
    public void Kind_is_detected_from_the_released_columns(string which, PixmoDatasetKind expected)
    {
        var schema = which switch
        {
            "cap" => PixmoFixtures.Cap, "ama" => PixmoFixtures.AskModelAnything, "points" => PixmoFixtures.Points,
            "count" => PixmoFixtures.Count, "clocks" => PixmoFixtures.Clocks, "capqa" => PixmoFixtures.CapQa, "docs" => PixmoFixtures.Docs,
            "eval" => PixmoFixtures.PointsEval, _ => PixmoFixtures.PointExplanations,
        };
        Assert.Equal(expected, PixmoSchemas.Detect(schema.Fields.Select(f => f.Name)));
        Assert.Equal(expected, PixmoDatasetKindNames.Parse(expected.HubName()));
    }
}
