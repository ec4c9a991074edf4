using Molmo.Data.Datasets;
using Molmo.Data.Parquet;
using Molmo.Data.Tests.Fixtures;
using static Molmo.Data.Tests.Fixtures.ParquetFixture;

namespace Molmo.Data.Tests.Datasets;

/// <summary>
/// Nulls and empty lists in the middle of large row groups: every value must stay with its row
/// (Parquet stores only the defined values, densely, beside the levels).
/// </summary>
public class AlignmentTests
{
    const int Rows = 5000;
    static int PointsIn(int i) => i % 3 == 0 ? 0 : i % 7;

    [Fact]
    public async Task Points_rows_with_nulls_and_empty_lists_read_back_exactly()
    {
        var path = PixmoFixtures.TempFile("aligned-points.parquet");
        var rows = Enumerable.Range(0, Rows).Select(i => new Dictionary<string, object?>
        {
            ["image_url"] = $"u{i}",
            ["image_sha256"] = i % 5 == 0 ? null : $"s{i}",
            ["points"] = Enumerable.Range(0, PointsIn(i)).Select(k => Pt(i + k / 10.0, -i - k / 10.0)).ToList(),
            ["count"] = (long)PointsIn(i),
            ["label"] = $"label {i}",
            ["collection_method"] = i % 2 == 0 ? "pointing" : "counting",
        }).ToList();
        await WriteAsync(path, PixmoFixtures.Points, rows, rowGroupSize: 2000);

        int i = 0;
        await foreach (var r in new PixmoPointsReader().ReadAsync(path))
        {
            Assert.Equal($"u{i}", r.ImageUrl);
            Assert.Equal(PointsIn(i), r.Points.Count);
            for (int k = 0; k < r.Points.Count; k++) Assert.Equal(new PixmoPoint(i + k / 10.0, -i - k / 10.0), r.Points[k]);
            Assert.Equal($"label {i}", r.Label);
            i++;
        }
        Assert.Equal(Rows, i);

        // image_sha256 is nullable in the file; the low-level view shows the nulls in place.
        await using var file = await ParquetDatasetFile.OpenAsync(path);
        var batch = await file.ReadRowGroupAsync(0, ["image_sha256"]);
        for (int j = 0; j < batch.RowCount; j++)
            Assert.Equal(j % 5 == 0 ? null : $"s{j}", batch.Row(j).NullableString("image_sha256"));
    }

    [Fact]
    public async Task Nested_point_lists_and_null_responses_read_back_exactly()
    {
        var path = PixmoFixtures.TempFile("aligned-expl.parquet");
        var rows = Enumerable.Range(0, Rows).Select(i => new Dictionary<string, object?>
        {
            ["image_url"] = $"u{i / 3}",
            ["image_sha256"] = "s",
            ["question"] = $"q{i}",
            ["parsed_response"] = i % 4 == 1 ? null : string.Concat(Enumerable.Repeat("x <|POINT|> ", i % 3)),
            ["inline_text"] = Strings(Enumerable.Range(0, i % 3).Select(k => $"in{i}.{k}").ToArray()),
            ["alt_text"] = Strings(Enumerable.Range(0, i % 3).Select(k => $"alt{i}.{k}").ToArray()),
            ["points"] = Enumerable.Range(0, i % 3).Select(k => (IEnumerable<IDictionary<string, object>>)Enumerable.Range(0, (i + k) % 4)
                .Select(m => (IDictionary<string, object>)new Dictionary<string, object> { ["x"] = i + m / 100.0, ["y"] = k + 0.5 }).ToList()).ToList(),
        }).ToList();
        await WriteAsync(path, PixmoFixtures.PointExplanations, rows, rowGroupSize: 1500);

        var kept = Enumerable.Range(0, Rows).Where(i => i % 4 != 1).ToList();
        int n = 0;
        await foreach (var r in new PixmoPointExplanationsReader().ReadAsync(path))
        {
            int i = kept[n++];
            Assert.Equal($"q{i}", r.Question);
            Assert.Equal(i % 3, r.Points.Count);
            for (int k = 0; k < r.Points.Count; k++)
            {
                Assert.Equal($"in{i}.{k}", r.InlineText[k]);
                Assert.Equal($"alt{i}.{k}", r.AltText[k]);
                Assert.Equal(Enumerable.Range(0, (i + k) % 4).Select(m => new PixmoPoint(i + m / 100.0, k + 0.5)), r.Points[k]);
            }
        }
        Assert.Equal(kept.Count, n);

        int groups = 0, grouped = 0;
        await foreach (var g in new PixmoPointExplanationsReader().ReadGroupedAsync(path))
        {
            groups++;
            grouped += g.Rows.Count;
            Assert.All(g.Rows, r => Assert.Equal(g.ImageUrl, r.ImageUrl));
        }
        Assert.Equal(kept.Count, grouped);
        Assert.Equal(kept.Select(i => i / 3).Distinct().Count(), groups);
    }

    [Fact]
    public async Task Count_struct_of_lists_with_empty_rows_reads_back_exactly()
    {
        var path = PixmoFixtures.TempFile("aligned-count.parquet");
        var rows = Enumerable.Range(0, Rows).Select(i => new Dictionary<string, object?>
        {
            ["image_url"] = $"u{i}", ["image_sha256"] = "s", ["count"] = PointsIn(i),
            ["points"] = new Dictionary<string, object?>
            {
                ["x"] = Enumerable.Range(0, PointsIn(i)).Select(k => (float?)(i + k)).ToList(),
                ["y"] = Enumerable.Range(0, PointsIn(i)).Select(k => (float?)(k * 2)).ToList(),
            },
            ["label"] = i % 11 == 0 ? null : "thing",
        }).ToList();
        await WriteAsync(path, PixmoFixtures.Count, rows, rowGroupSize: 5000);
        int i = 0;
        await using var file = await ParquetDatasetFile.OpenAsync(path);
        var batch = await file.ReadRowGroupAsync(0, ["points", "label", "count"]);
        for (; i < batch.RowCount; i++)
        {
            var v = batch.Row(i);
            Assert.Equal(Enumerable.Range(0, PointsIn(i)).Select(k => (double)(i + k)), v.DoubleList("points.x"));
            Assert.Equal(Enumerable.Range(0, PointsIn(i)).Select(k => k * 2.0), v.DoubleList("points.y"));
            Assert.Equal(i % 11 == 0 ? null : "thing", v.NullableString("label"));
            Assert.Equal(PointsIn(i), v.Int64("count"));
        }
        Assert.Equal(Rows, i);
    }
}
