using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Molmo.Data.Images;

/// <summary>
/// Downloads PixMo images by URL into a flat cache directory.
/// <para>Layout (read by other components): the image bytes of <c>url</c> live in <c>&lt;cacheDir&gt;/&lt;sha256(UTF-8 url) as lower-case
/// hex&gt;</c>, no extension, exactly as downloaded. Failure records live in <c>&lt;cacheDir&gt;/.failed/&lt;same name&gt;.json</c>;
/// unlike the official downloader, error text is never written into the image file.</para>
/// <para>Every file is written to a temporary name in the same directory and renamed when complete and verified, so an
/// interrupted run leaves no partial image, and a rerun continues where the last one stopped.</para>
/// </summary>
public sealed class ImageCache : IDisposable
{
    /// <summary>Seed of the official downloader's URL shuffle (its NumPy permutation itself is not reproduced).</summary>
    public const int ShuffleSeed = 58713;

    const string FailureDir = ".failed";
    readonly HttpClient _http;
    readonly ImageCacheOptions _options;

    public string CacheDir { get; }

    public ImageCache(string cacheDir, ImageCacheOptions? options = null, HttpMessageHandler? handler = null)
    {
        _options = options ?? new ImageCacheOptions();
        _options.Validate();
        CacheDir = Path.GetFullPath(cacheDir);
        Directory.CreateDirectory(CacheDir);
        Directory.CreateDirectory(Path.Combine(CacheDir, FailureDir));
        if (handler is null)
        {
            var sockets = new SocketsHttpHandler
            {
                AutomaticDecompression = DecompressionMethods.All,
                MaxConnectionsPerServer = Math.Max(2, _options.MaxConcurrency),
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            };
            if (_options.AllowInvalidCertificates)
                sockets.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
            handler = sockets;
        }
        _http = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd(_options.UserAgent);
        RemoveStaleTemporaries();
    }

    /// <summary>The lower-case hex sha256 of the UTF-8 bytes of <paramref name="url"/>: the cache file name.</summary>
    public static string KeyFor(string url) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(url)));

    /// <summary>Where the image of <paramref name="url"/> is (or will be) cached: <c>&lt;cacheDir&gt;/&lt;KeyFor(url)&gt;</c>.</summary>
    public static string PathFor(string cacheDir, string url) => Path.Combine(cacheDir, KeyFor(url));

    public string PathFor(string url) => PathFor(CacheDir, url);

    public bool IsCached(string url) => File.Exists(PathFor(url));

    string FailurePath(string url) => Path.Combine(CacheDir, FailureDir, KeyFor(url) + ".json");

    /// <summary>The failure recorded for <paramref name="url"/> by an earlier run, if any.</summary>
    public ImageFailureRecord? GetFailure(string url)
    {
        var path = FailurePath(url);
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<ImageFailureRecord>(File.ReadAllText(path)); }
        catch (JsonException) { return null; } // an unreadable record is ignored, so the URL is tried again
    }

    /// <summary>
    /// The order the official downloader uses: de-duplicate by URL, sort, then shuffle with a fixed seed (spreads the load
    /// over hosts and makes resuming predictable). Where a URL appears with several sha256 values the first one wins.
    /// </summary>
    public static IReadOnlyList<ImageRequest> Order(IEnumerable<ImageRequest> requests)
    {
        var unique = new Dictionary<string, ImageRequest>(StringComparer.Ordinal);
        foreach (var r in requests) unique.TryAdd(r.Url, r);
        var list = unique.Values.OrderBy(r => r.Url, StringComparer.Ordinal).ToArray();
        new Random(ShuffleSeed).Shuffle(list);
        return list;
    }

    /// <summary>Fetches all URLs (in <see cref="Order"/>), at most <see cref="ImageCacheOptions.MaxConcurrency"/> at a time.</summary>
    public async Task<IReadOnlyList<ImageFetchResult>> FetchAllAsync(IEnumerable<ImageRequest> requests,
        IProgress<ImageCacheProgress>? progress = null, CancellationToken ct = default)
    {
        var ordered = Order(requests);
        var results = new ImageFetchResult[ordered.Count];
        int downloaded = 0, cached = 0, known = 0, failed = 0;
        var gate = new object();
        progress?.Report(new ImageCacheProgress(ordered.Count, 0, 0, 0, 0));
        await Parallel.ForEachAsync(Enumerable.Range(0, ordered.Count),
            new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrency, CancellationToken = ct },
            async (i, token) =>
            {
                var result = await FetchAsync(ordered[i], token).ConfigureAwait(false);
                results[i] = result;
                ImageCacheProgress snapshot;
                lock (gate)
                {
                    switch (result.Status)
                    {
                        case ImageFetchStatus.Downloaded: downloaded++; break;
                        case ImageFetchStatus.AlreadyCached: cached++; break;
                        case ImageFetchStatus.KnownFailure: known++; break;
                        default: failed++; break;
                    }
                    snapshot = new ImageCacheProgress(ordered.Count, downloaded, cached, known, failed);
                }
                progress?.Report(snapshot);
            }).ConfigureAwait(false);
        return results;
    }

    /// <summary>Fetches one URL unless it is cached or (unless told otherwise) failed before.</summary>
    public async Task<ImageFetchResult> FetchAsync(ImageRequest request, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(request.Url);
        var target = PathFor(request.Url);
        if (File.Exists(target))
        {
            if (!_options.VerifyExisting || await IsValidAsync(target, request.ExpectedSha256, ct).ConfigureAwait(false))
                return new(request.Url, target, ImageFetchStatus.AlreadyCached, 0);
            TryDelete(target); // not the image (e.g. an error text left by another downloader): fetch it again
        }
        if (!_options.RetryRecordedFailures && GetFailure(request.Url) is { } old)
            return new(request.Url, target, ImageFetchStatus.KnownFailure, 0, old.Reason);
        if (!Uri.TryCreate(request.Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            return await FailAsync(request.Url, target, new AttemptError($"not an http(s) URL", null, Permanent: true), 0).ConfigureAwait(false);

        AttemptError? last = null;
        for (int attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            if (attempt > 1)
                await Task.Delay(Backoff(attempt, last?.RetryAfter), ct).ConfigureAwait(false);
            last = await AttemptAsync(uri, target, request.ExpectedSha256, ct).ConfigureAwait(false);
            if (last is null)
            {
                TryDelete(FailurePath(request.Url)); // a success clears an old record (RetryRecordedFailures)
                return new(request.Url, target, ImageFetchStatus.Downloaded, attempt);
            }
            if (last.Permanent)
                return await FailAsync(request.Url, target, last, attempt).ConfigureAwait(false);
        }
        return await FailAsync(request.Url, target, last!, _options.MaxAttempts).ConfigureAwait(false);
    }

    sealed record AttemptError(string Reason, int? HttpStatus, bool Permanent, TimeSpan? RetryAfter = null);

    TimeSpan Backoff(int attempt, TimeSpan? retryAfter)
    {
        var exponential = _options.InitialBackoff * Math.Pow(2, attempt - 2);
        var wait = retryAfter is { } ra && ra > exponential ? ra : exponential;
        return wait > _options.MaxBackoff ? _options.MaxBackoff : wait;
    }

    /// <summary>One download attempt. Returns null on success (the verified file is in place).</summary>
    async Task<AttemptError?> AttemptAsync(Uri uri, string target, string? expectedSha, CancellationToken ct)
    {
        using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        attemptCts.CancelAfter(_options.RequestTimeout);
        var token = attemptCts.Token;
        var temp = $"{target}.{Guid.NewGuid():N}.tmp";
        try
        {
            using var response = await _http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, token).ConfigureAwait(false);
            int status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
            {
                bool transient = status is 408 or 429 || status >= 500;
                return new AttemptError($"HTTP {status} {response.ReasonPhrase}", status, !transient, RetryAfter(response));
            }
            if (response.Content.Headers.ContentLength is long declared && declared > _options.MaxImageBytes)
                return new AttemptError($"response of {declared} bytes exceeds the {_options.MaxImageBytes}-byte limit", status, Permanent: true);

            string actualSha;
            long length = 0;
            await using (var body = await response.Content.ReadAsStreamAsync(token).ConfigureAwait(false))
            await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[1 << 16];
                int n;
                while ((n = await body.ReadAsync(buffer, token).ConfigureAwait(false)) > 0)
                {
                    length += n;
                    if (length > _options.MaxImageBytes)
                        return new AttemptError($"response exceeds the {_options.MaxImageBytes}-byte limit", status, Permanent: true);
                    hash.AppendData(buffer, 0, n);
                    await file.WriteAsync(buffer.AsMemory(0, n), token).ConfigureAwait(false);
                }
                if (response.Content.Headers.ContentLength is long expected && expected != length)
                    return new AttemptError($"body has {length} bytes, Content-Length said {expected}", status, Permanent: false);
                await file.FlushAsync(token).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
                actualSha = Convert.ToHexStringLower(hash.GetHashAndReset());
            }
            if (length == 0) return new AttemptError("empty response body", status, Permanent: false);

            if (!string.IsNullOrEmpty(expectedSha))
            {
                if (!string.Equals(actualSha, expectedSha.Trim(), StringComparison.OrdinalIgnoreCase))
                    return new AttemptError($"sha256 of the downloaded bytes is {actualSha}, the dataset says {expectedSha}", status, Permanent: true);
            }
            else if (_options.VerifyDecodable && !ImageVerifier.IsCompleteImage(temp, out var why))
            {
                return new AttemptError(why, status, Permanent: true);
            }
            File.Move(temp, target, overwrite: true);
            return null;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new AttemptError($"timed out after {_options.RequestTimeout.TotalSeconds:0.###} s", null, Permanent: false);
        }
        catch (HttpRequestException e)
        {
            return new AttemptError($"request failed: {e.Message}", (int?)e.StatusCode, Permanent: false);
        }
        catch (IOException e)
        {
            // Mostly a connection that broke mid-body (the response ended before Content-Length); retried.
            return new AttemptError($"I/O error while downloading: {e.Message}", null, Permanent: false);
        }
        finally
        {
            TryDelete(temp);
        }
    }

    static async Task<bool> IsValidAsync(string path, string? expectedSha, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(expectedSha)) return ImageVerifier.IsCompleteImage(path, out _);
        await using var stream = File.OpenRead(path);
        var sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct).ConfigureAwait(false));
        return string.Equals(sha, expectedSha.Trim(), StringComparison.OrdinalIgnoreCase);
    }

    static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var ra = response.Headers.RetryAfter;
        if (ra?.Delta is { } delta) return delta;
        if (ra?.Date is { } date) return date - DateTimeOffset.UtcNow;
        return null;
    }

    async Task<ImageFetchResult> FailAsync(string url, string target, AttemptError error, int attempts)
    {
        var record = new ImageFailureRecord(url, error.Reason, error.HttpStatus, error.Permanent, attempts, DateTimeOffset.UtcNow);
        var path = FailurePath(url);
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        await File.WriteAllTextAsync(temp, JsonSerializer.Serialize(record)).ConfigureAwait(false);
        File.Move(temp, path, overwrite: true);
        return new(url, target, ImageFetchStatus.Failed, attempts, error.Reason);
    }

    /// <summary>Removes temporaries an interrupted run left behind (older than an hour, so a concurrent run is not disturbed).</summary>
    void RemoveStaleTemporaries()
    {
        var cutoff = DateTime.UtcNow - TimeSpan.FromHours(1);
        foreach (var dir in new[] { CacheDir, Path.Combine(CacheDir, FailureDir) })
            foreach (var f in Directory.EnumerateFiles(dir, "*.tmp"))
                if (File.GetLastWriteTimeUtc(f) < cutoff) TryDelete(f);
    }

    static void TryDelete(string path)
    {
        try { if (File.Exists(path)) File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    public void Dispose() => _http.Dispose();
}
