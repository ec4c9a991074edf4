namespace Molmo.Data.Images;

/// <summary>Settings of <see cref="ImageCache"/> downloads.</summary>
public sealed record ImageCacheOptions
{
    /// <summary>Downloads running at the same time.</summary>
    public int MaxConcurrency { get; init; } = 16;

    /// <summary>Limit for one attempt, headers and body together (the official downloader uses 5 s).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Attempts per URL for transient failures (HTTP 408/429/5xx, timeouts, dropped connections, truncated bodies).</summary>
    public int MaxAttempts { get; init; } = 4;

    /// <summary>Wait before the second attempt; doubled for each further attempt.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Upper bound of any wait, including a server's <c>Retry-After</c> (some hosts ask for hours).</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Larger responses are refused (a permanent failure).</summary>
    public long MaxImageBytes { get; init; } = 64L << 20;

    /// <summary>When the dataset has no sha256 column, require the bytes to decode completely as an image.</summary>
    public bool VerifyDecodable { get; init; } = true;

    /// <summary>Download again URLs that failed in an earlier run (by default they are skipped).</summary>
    public bool RetryRecordedFailures { get; init; }

    /// <summary>
    /// Check files already in the cache (sha256 where known, else a complete decode) and download again the ones that fail.
    /// Use it on a folder filled by the official downloader, which writes error text into the image file on failure.
    /// </summary>
    public bool VerifyExisting { get; init; }

    /// <summary>Accept any TLS certificate. The official PixMo-Count download does this; off by default here.</summary>
    public bool AllowInvalidCertificates { get; init; }

    public string UserAgent { get; init; } = "Molmo.Data/1.0 (+image cache)";

    internal void Validate()
    {
        if (MaxConcurrency < 1) throw new ArgumentOutOfRangeException(nameof(MaxConcurrency), MaxConcurrency, "must be at least 1");
        if (MaxAttempts < 1) throw new ArgumentOutOfRangeException(nameof(MaxAttempts), MaxAttempts, "must be at least 1");
        if (RequestTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(RequestTimeout), RequestTimeout, "must be positive");
    }
}
