using System.Security.Cryptography;
using System.Text;
using Molmo.Data.Images;
using Molmo.Data.Tests.Fixtures;
using SkiaSharp;

namespace Molmo.Data.Tests.Images;

public class ImageCacheTests : IDisposable
{
    readonly ScriptedHttpServer _server = new();
    readonly string _dir = Path.GetDirectoryName(PixmoFixtures.TempFile("cache"))!;

    static readonly ImageCacheOptions Fast = new()
    {
        MaxConcurrency = 4, RequestTimeout = TimeSpan.FromSeconds(10), MaxAttempts = 4,
        InitialBackoff = TimeSpan.FromMilliseconds(10), MaxBackoff = TimeSpan.FromMilliseconds(50),
    };

    public void Dispose() => _server.Dispose();

    static byte[] Png(int w, int h, byte shade)
    {
        using var bmp = new SKBitmap(w, h);
        bmp.Erase(new SKColor(shade, 40, 200));
        using var data = bmp.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    static string Sha(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>The invariant every test ends with: no temporaries, and every cached file is exactly the image it should be.</summary>
    void AssertCacheClean(params (string Url, byte[]? Bytes)[] expected)
    {
        Assert.Empty(Directory.EnumerateFiles(_dir, "*.tmp", SearchOption.AllDirectories));
        foreach (var (url, bytes) in expected)
        {
            var path = ImageCache.PathFor(_dir, url);
            if (bytes is null) Assert.False(File.Exists(path), $"{url} should not be cached");
            else Assert.Equal(bytes, File.ReadAllBytes(path));
        }
    }

    [Fact]
    public void PathFor_is_the_lower_hex_sha256_of_the_utf8_url_without_extension()
    {
        const string url = "https://example.com/ünï/photo.JPG?x=1";
        var expected = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(url))).ToLowerInvariant();
        Assert.Equal(Path.Combine("/cache", expected), ImageCache.PathFor("/cache", url));
        Assert.Equal(64, Path.GetFileName(ImageCache.PathFor("/cache", url)).Length);
    }

    [Fact]
    public async Task Downloads_verifies_sha_and_skips_on_rerun()
    {
        var img = Png(8, 6, 10);
        var url = _server.Script("/ok.png", Reply.Ok(img));
        using var cache = new ImageCache(_dir, Fast);
        var first = await cache.FetchAsync(new ImageRequest(url, Sha(img).ToUpperInvariant()));
        Assert.Equal(ImageFetchStatus.Downloaded, first.Status);
        Assert.Equal(ImageCache.PathFor(_dir, url), first.Path);
        var again = await cache.FetchAsync(new ImageRequest(url, Sha(img)));
        Assert.Equal(ImageFetchStatus.AlreadyCached, again.Status);
        Assert.Equal(1, _server.Hits("/ok.png"));
        AssertCacheClean((url, img));
    }

    [Fact]
    public async Task Retries_429_and_5xx_with_backoff_and_caps_retry_after()
    {
        var img = Png(4, 4, 20);
        var a = _server.Script("/busy", Reply.Error(429, "Retry-After: 86400\r\n"), Reply.Error(429, "Retry-After: 0\r\n"), Reply.Ok(img));
        var b = _server.Script("/flaky", Reply.Error(500), Reply.Error(503), Reply.Ok(img));
        using var cache = new ImageCache(_dir, Fast);
        var started = DateTime.UtcNow;
        var ra = await cache.FetchAsync(new ImageRequest(a, Sha(img)));
        var rb = await cache.FetchAsync(new ImageRequest(b)); // no sha: decoded instead
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10), "a one-day Retry-After must be capped");
        Assert.Equal((ImageFetchStatus.Downloaded, 3), (ra.Status, ra.Attempts));
        Assert.Equal((ImageFetchStatus.Downloaded, 3), (rb.Status, rb.Attempts));
        AssertCacheClean((a, img), (b, img));
    }

    [Fact]
    public async Task Persistent_5xx_fails_is_recorded_and_not_retried_next_run()
    {
        var url = _server.Script("/down", Reply.Error(502));
        using (var cache = new ImageCache(_dir, Fast))
        {
            var r = await cache.FetchAsync(new ImageRequest(url));
            Assert.Equal(ImageFetchStatus.Failed, r.Status);
            Assert.Equal(4, r.Attempts);
            Assert.Contains("502", r.Error);
            var record = cache.GetFailure(url)!;
            Assert.False(record.Permanent);
            Assert.Equal(502, record.HttpStatus);
        }
        Assert.Equal(4, _server.Hits("/down"));
        using (var rerun = new ImageCache(_dir, Fast))
            Assert.Equal(ImageFetchStatus.KnownFailure, (await rerun.FetchAsync(new ImageRequest(url))).Status);
        Assert.Equal(4, _server.Hits("/down"));

        var img = Png(3, 3, 1);
        _server.Script("/down", Reply.Ok(img));
        using (var retry = new ImageCache(_dir, Fast with { RetryRecordedFailures = true }))
        {
            Assert.Equal(ImageFetchStatus.Downloaded, (await retry.FetchAsync(new ImageRequest(url))).Status);
            Assert.Null(retry.GetFailure(url));
        }
        AssertCacheClean((url, img));
    }

    [Fact]
    public async Task Not_found_is_a_permanent_failure_after_one_attempt()
    {
        var url = _server.Script("/gone", Reply.Error(404));
        using var cache = new ImageCache(_dir, Fast);
        var r = await cache.FetchAsync(new ImageRequest(url));
        Assert.Equal((ImageFetchStatus.Failed, 1), (r.Status, r.Attempts));
        Assert.True(cache.GetFailure(url)!.Permanent);
        AssertCacheClean((url, null));
        // The failure record is not in the image's place.
        Assert.False(File.Exists(ImageCache.PathFor(_dir, url)));
    }

    [Fact]
    public async Task Slow_response_times_out_and_is_retried()
    {
        var img = Png(5, 5, 30);
        var url = _server.Script("/slow", Reply.Slow(img, 8000), Reply.Ok(img));
        using var cache = new ImageCache(_dir, Fast with { RequestTimeout = TimeSpan.FromSeconds(1.5) });
        var r = await cache.FetchAsync(new ImageRequest(url, Sha(img)));
        Assert.Equal((ImageFetchStatus.Downloaded, 2), (r.Status, r.Attempts));
        AssertCacheClean((url, img));
    }

    [Fact]
    public async Task Truncated_body_is_retried_and_never_left_half_written()
    {
        var img = Png(64, 64, 40);
        var ok = _server.Script("/trunc-once", Reply.Truncated(img), Reply.Ok(img));
        var bad = _server.Script("/trunc-always", Reply.Truncated(img));
        using var cache = new ImageCache(_dir, Fast);
        var r1 = await cache.FetchAsync(new ImageRequest(ok, Sha(img)));
        var r2 = await cache.FetchAsync(new ImageRequest(bad));
        Assert.Equal((ImageFetchStatus.Downloaded, 2), (r1.Status, r1.Attempts));
        Assert.Equal(ImageFetchStatus.Failed, r2.Status);
        Assert.Equal(4, r2.Attempts);
        AssertCacheClean((ok, img), (bad, null));
    }

    [Fact]
    public async Task Wrong_bytes_fail_sha_check_and_are_not_kept()
    {
        var img = Png(6, 6, 50);
        var other = Png(6, 6, 51);
        var url = _server.Script("/swapped", Reply.Ok(other));
        var junk = _server.Script("/html", Reply.Ok(Encoding.UTF8.GetBytes("<html>login wall</html>")));
        using var cache = new ImageCache(_dir, Fast);
        var r = await cache.FetchAsync(new ImageRequest(url, Sha(img)));
        Assert.Equal((ImageFetchStatus.Failed, 1), (r.Status, r.Attempts));
        Assert.Contains("sha256", r.Error);
        Assert.True(cache.GetFailure(url)!.Permanent);
        var j = await cache.FetchAsync(new ImageRequest(junk)); // no sha: must decode as an image
        Assert.Equal(ImageFetchStatus.Failed, j.Status);
        Assert.Contains("image", j.Error);
        AssertCacheClean((url, null), (junk, null));
    }

    [Fact]
    public async Task FetchAll_bounds_concurrency_and_reports_ok_failed_skipped()
    {
        var img = Png(4, 4, 60);
        var urls = Enumerable.Range(0, 8).Select(i => _server.Script($"/img{i}", Reply.Slow(img, 150))).ToList();
        var dead = _server.Script("/dead", Reply.Error(410));
        var requests = urls.Select(u => new ImageRequest(u, Sha(img))).Append(new ImageRequest(dead)).Append(new ImageRequest(urls[0], Sha(img))).ToList();
        var reports = new List<ImageCacheProgress>();
        using (var cache = new ImageCache(_dir, Fast with { MaxConcurrency = 2 }))
        {
            var results = await cache.FetchAllAsync(requests, new SyncProgress<ImageCacheProgress>(reports.Add));
            Assert.Equal(9, results.Count); // duplicates removed
        }
        Assert.InRange(_server.MaxInFlight, 1, 2);
        var last = reports[^1];
        Assert.Equal((9, 8, 1, 0), (last.Total, last.Ok, last.Failed, last.Skipped));

        reports.Clear();
        using (var cache = new ImageCache(_dir, Fast))
            await cache.FetchAllAsync(requests, new SyncProgress<ImageCacheProgress>(reports.Add));
        Assert.Equal((0, 0, 9), (reports[^1].Ok, reports[^1].Failed, reports[^1].Skipped));
        AssertCacheClean(urls.Select(u => (u, (byte[]?)img)).Append((dead, null)).ToArray());
    }

    [Fact]
    public async Task Cancelled_run_leaves_only_complete_images_and_resumes()
    {
        var img = Png(4, 4, 70);
        var urls = Enumerable.Range(0, 6).Select(i => _server.Script($"/c{i}", Reply.Slow(img, 400))).ToList();
        var requests = urls.Select(u => new ImageRequest(u, Sha(img))).ToList();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(600));
        using (var cache = new ImageCache(_dir, Fast with { MaxConcurrency = 2 }))
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cache.FetchAllAsync(requests, null, cts.Token));
        Assert.Empty(Directory.EnumerateFiles(_dir, "*.tmp"));
        foreach (var f in Directory.EnumerateFiles(_dir)) Assert.Equal(img, File.ReadAllBytes(f));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_dir, ".failed"))); // cancellation is not a failure
        int before = Directory.EnumerateFiles(_dir).Count();
        Assert.InRange(before, 0, 5);

        using (var cache = new ImageCache(_dir, Fast))
        {
            var results = await cache.FetchAllAsync(requests);
            Assert.All(results, r => Assert.True(r.IsOk));
            Assert.Equal(before, results.Count(r => r.Status == ImageFetchStatus.AlreadyCached));
        }
        AssertCacheClean(urls.Select(u => (u, (byte[]?)img)).ToArray());
    }

    [Fact]
    public async Task VerifyExisting_replaces_error_text_left_in_the_image_path()
    {
        var img = Png(4, 4, 80);
        var withSha = _server.Script("/old1", Reply.Ok(img));
        var noSha = _server.Script("/old2", Reply.Ok(img));
        Directory.CreateDirectory(_dir);
        // What the official downloader leaves behind on failure: the exception text in the image file.
        foreach (var u in new[] { withSha, noSha })
            File.WriteAllText(ImageCache.PathFor(_dir, u), "HTTPSConnectionPool: Max retries exceeded");
        using (var trusting = new ImageCache(_dir, Fast))
            Assert.Equal(ImageFetchStatus.AlreadyCached, (await trusting.FetchAsync(new ImageRequest(withSha, Sha(img)))).Status);
        using var cache = new ImageCache(_dir, Fast with { VerifyExisting = true });
        Assert.Equal(ImageFetchStatus.Downloaded, (await cache.FetchAsync(new ImageRequest(withSha, Sha(img)))).Status);
        Assert.Equal(ImageFetchStatus.Downloaded, (await cache.FetchAsync(new ImageRequest(noSha))).Status);
        Assert.Equal(ImageFetchStatus.AlreadyCached, (await cache.FetchAsync(new ImageRequest(noSha))).Status); // now valid
        AssertCacheClean((withSha, img), (noSha, img));
    }

    [Fact]
    public void Order_deduplicates_sorts_and_shuffles_deterministically()
    {
        var reqs = new[] { "b", "a", "c", "a", "d" }.Select(u => new ImageRequest("http://h/" + u)).ToList();
        var o1 = ImageCache.Order(reqs).Select(r => r.Url).ToList();
        var o2 = ImageCache.Order(Enumerable.Reverse(reqs)).Select(r => r.Url).ToList();
        Assert.Equal(4, o1.Count);
        Assert.Equal(o1, o2);
        Assert.Equal(["http://h/a", "http://h/b", "http://h/c", "http://h/d"], o1.Order(StringComparer.Ordinal));
    }

    /// <summary>IProgress that reports synchronously (Progress&lt;T&gt; posts to the thread pool, racing the assertions).</summary>
    sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        readonly object _gate = new();
        public void Report(T value) { lock (_gate) report(value); }
    }
}
