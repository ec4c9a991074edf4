using Molmo.Data.Datasets;
using Molmo.Data.Images;
using Molmo.Data.Parquet;
using Molmo.Data.Tests.Fixtures;
using static Molmo.Data.Tests.Fixtures.ParquetFixture;

namespace Molmo.Data.Tests.Datasets;

public class ParquetStatsTests
{
    [Fact]
    public async Task Stats_summarise_values_lengths_and_lists_per_leaf()
    {
        var path = PixmoFixtures.TempFile("points.parquet");
        await WriteAsync(path, PixmoFixtures.Points,
        [
            new() { ["image_url"] = "u1", ["image_sha256"] = "s1", ["points"] = Pts((10, 20), (30, 40)), ["count"] = 2L, ["label"] = "ab",
                    ["collection_method"] = "counting" },
            new() { ["image_url"] = "u1", ["image_sha256"] = "s1", ["points"] = Pts(), ["count"] = 0L, ["label"] = "abcd",
                    ["collection_method"] = "pointing" },
            new() { ["image_url"] = "u2", ["image_sha256"] = null, ["points"] = Pts((90, 5)), ["count"] = 1L, ["label"] = "ab",
                    ["collection_method"] = "pointing" },
        ]);
        var stats = await ParquetStats.ComputeAsync(path);
        Assert.Equal((3L, 2), (stats.Rows, stats.RowGroups));
        Assert.Equal(PixmoDatasetKind.Points, stats.DetectedKind);
        Assert.Null(stats.SchemaProblem);
        var x = stats.Summaries.Single(s => s.Path == "points.x");
        Assert.Equal((10.0, 90.0, 3L), (x.Min!.Value, x.Max!.Value, x.Values));
        Assert.Equal((0.0, 2.0, 1.0), (x.MinListLength!.Value, x.MaxListLength!.Value, x.MeanListLength!.Value));
        var label = stats.Summaries.Single(s => s.Path == "label");
        Assert.Equal(("length", 2L, 2.0, 4.0), (label.Measure, label.Distinct!.Value, label.Min!.Value, label.Max!.Value));
        Assert.Equal(1, stats.Summaries.Single(s => s.Path == "image_sha256").Nulls);
    }

    [Fact]
    public async Task Image_requests_come_from_url_and_sha_columns_and_files_without_urls_fail_clearly()
    {
        var ama = PixmoFixtures.TempFile("ama.parquet");
        await WriteAsync(ama, PixmoFixtures.AskModelAnything,
            [new() { ["image_url"] = "http://h/1", ["image_sha256"] = "ab", ["question"] = "q", ["answer"] = "a" }]);
        Assert.Equal([new ImageRequest("http://h/1", "ab")], await ImageRequests.FromParquetAsync(ama));

        var cap = PixmoFixtures.TempFile("cap.parquet");
        await WriteAsync(cap, PixmoFixtures.Cap, [new() { ["image_url"] = "http://h/2", ["caption"] = "c", ["transcripts"] = Strings() }]);
        Assert.Equal([new ImageRequest("http://h/2")], await ImageRequests.FromParquetAsync(cap));

        var clocks = PixmoFixtures.TempFile("clocks.parquet");
        await WriteAsync(clocks, new global::Parquet.Schema.ParquetSchema(Str("example_id")), [new() { ["example_id"] = "e" }]);
        var e = await Assert.ThrowsAsync<SchemaMismatchException>(() => ImageRequests.FromParquetAsync(clocks));
        Assert.Equal("image_url", e.Column);
    }
}
