using System.Security.Cryptography;
using Molmo.Cli;
using Molmo.Data.Images;
using Molmo.Data.Tests.Fixtures;
using Molmo.Data.Tests.Images;
using SkiaSharp;
using static Molmo.Data.Tests.Fixtures.ParquetFixture;

namespace Molmo.Data.Tests.Cli;

[Collection("console")] // these tests redirect Console
public class DataCommandTests
{
    static (int Code, string Out, string Err) Run(params string[] args)
    {
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        var (o, e) = (new StringWriter(), new StringWriter());
        Console.SetOut(o); Console.SetError(e);
        try { return (Program.BuildRoot().Parse(args).Invoke(), o.ToString(), e.ToString()); }
        finally { Console.SetOut(oldOut); Console.SetError(oldErr); }
    }

    static byte[] Png()
    {
        using var bmp = new SKBitmap(3, 2);
        bmp.Erase(SKColors.Orange);
        using var data = bmp.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    [Fact]
    public async Task Fetch_images_downloads_a_parquet_files_urls_and_reports_counts()
    {
        using var server = new ScriptedHttpServer();
        var img = Png();
        var sha = Convert.ToHexStringLower(SHA256.HashData(img));
        var good = server.Script("/a.png", Reply.Ok(img));
        var flaky = server.Script("/b.png", Reply.Error(503), Reply.Ok(img));
        var dead = server.Script("/c.png", Reply.Error(404));
        var path = PixmoFixtures.TempFile("ama.parquet");
        await WriteAsync(path, PixmoFixtures.AskModelAnything,
        [
            new() { ["image_url"] = good, ["image_sha256"] = sha, ["question"] = "q", ["answer"] = "a" },
            new() { ["image_url"] = good, ["image_sha256"] = sha, ["question"] = "q2", ["answer"] = "a2" },
            new() { ["image_url"] = flaky, ["image_sha256"] = sha, ["question"] = "q", ["answer"] = "a" },
            new() { ["image_url"] = dead, ["image_sha256"] = sha, ["question"] = "q", ["answer"] = "a" },
        ]);
        var cache = Path.Combine(Path.GetDirectoryName(path)!, "cache");
        var (code, output, err) = Run("data", "fetch-images", path, "--cache", cache, "--jobs", "2", "--timeout", "5");
        Assert.True(code == 0, err);
        Assert.Contains("Got images for 2/3", output);
        Assert.Equal(img, File.ReadAllBytes(ImageCache.PathFor(cache, good)));
        Assert.Equal(img, File.ReadAllBytes(ImageCache.PathFor(cache, flaky)));
        Assert.False(File.Exists(ImageCache.PathFor(cache, dead)));

        var again = Run("data", "fetch-images", path, "--cache", cache);
        Assert.Equal(0, again.Code);
        Assert.Equal(1, server.Hits("/c.png")); // the dead URL is not retried
    }

    [Fact]
    public async Task Stats_reports_kind_schema_and_columns_and_errors_are_clear()
    {
        var path = PixmoFixtures.TempFile("cap.parquet");
        await WriteAsync(path, PixmoFixtures.Cap,
        [
            new() { ["image_url"] = "u1", ["caption"] = "c", ["transcripts"] = Strings("t1", "t2") },
            new() { ["image_url"] = "u2", ["caption"] = "cc", ["transcripts"] = Strings("t3") },
        ]);
        var (code, output, _) = Run("data", "stats", path);
        Assert.Equal(0, code);
        Assert.Contains("rows 2, row groups 1", output);
        Assert.Contains("pixmo-cap", output);
        Assert.Contains("list<string>", output);
        Assert.Contains("transcripts", output);

        var missing = Run("data", "stats", path + ".nope");
        Assert.Equal(1, missing.Code);
        Assert.Contains("not found", missing.Err);
    }
}
