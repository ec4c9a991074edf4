using Parquet.Schema;
using static Molmo.Data.Tests.Fixtures.ParquetFixture;

namespace Molmo.Data.Tests.Fixtures;

/// <summary>The released schemas of the nine PixMo datasets, written out in the tests' own terms (not the library's).</summary>
public static class PixmoFixtures
{
    static StructField XY64() => Struct("element", F64("x"), F64("y"));
    static StructField XY32() => Struct("element", F32("x"), F32("y"));

    public static readonly ParquetSchema Cap = new(Str("image_url"), Str("caption"), List("transcripts", Str("element")));

    public static readonly ParquetSchema AskModelAnything = new(Str("image_url"), Str("image_sha256"), Str("question"), Str("answer"));

    public static readonly ParquetSchema Points = new(Str("image_url"), Str("image_sha256"), List("points", XY64()), I64("count"),
        Str("label"), Str("collection_method"));

    public static readonly ParquetSchema PointsEval = new(Str("image_url"), Str("image_sha256"), Str("label"), List("points", XY64()),
        List("masks", List("element", List("element", Bool("element")))));

    public static readonly ParquetSchema PointExplanations = new(Str("image_url"), Str("image_sha256"), Str("question"),
        Str("parsed_response"), List("inline_text", Str("element")), List("alt_text", Str("element")),
        List("points", List("element", XY64())));

    public static readonly ParquetSchema CapQa = new(Str("image_url"), Str("question"), Str("answer"), List("messages", Str("element")));

    // datasets.Image → struct<bytes, path>; Sequence({question, answer}) → struct of lists.
    public static readonly ParquetSchema Docs = new(Struct("image", Bin("bytes"), Str("path")), Str("image_id"),
        Struct("questions", List("question", Str("element")), List("answer", Str("element"))));

    public static readonly ParquetSchema Clocks = new(Str("example_id"), Str("watchface_id"), Str("watchface_name"), Str("watch_time"),
        Str("time_format"), Bool("shows_seconds"), I64("hour_visible"), I64("minute_visible"), I64("second_visible"), Str("text"));

    // Sequence({x: float32, y: float32}) → struct<x: list<float32>, y: list<float32>>.
    public static readonly ParquetSchema Count = new(Str("image_url"), Str("image_sha256"), I32("count"),
        Struct("points", List("x", F32("element")), List("y", F32("element"))), Str("label"));

    public static readonly ParquetSchema CountListOfStructs = new(Str("image_url"), Str("image_sha256"), I32("count"),
        List("points", XY32()), Str("label"));

    static readonly string Root = Path.Combine(Path.GetTempPath(), "molmo-data-tests");
    static readonly Lazy<bool> Swept = new(() =>
    {
        // Remove what earlier test runs left behind (older than an hour, so a concurrent run is not disturbed).
        if (Directory.Exists(Root))
            foreach (var d in Directory.EnumerateDirectories(Root))
                if (Directory.GetLastWriteTimeUtc(d) < DateTime.UtcNow.AddHours(-1))
                    try { Directory.Delete(d, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return true;
    });

    /// <summary>A path in a fresh temporary directory.</summary>
    public static string TempFile(string name)
    {
        _ = Swept.Value;
        var dir = Path.Combine(Root, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, name);
    }
}
