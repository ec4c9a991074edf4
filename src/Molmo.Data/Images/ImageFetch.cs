namespace Molmo.Data.Images;

/// <summary>One image to fetch: its URL and, where the dataset has it, the hex sha256 of the image bytes.</summary>
public sealed record ImageRequest(string Url, string? ExpectedSha256 = null);

public enum ImageFetchStatus
{
    /// <summary>Fetched and verified in this run.</summary>
    Downloaded,

    /// <summary>Already in the cache; not fetched again.</summary>
    AlreadyCached,

    /// <summary>Failed in an earlier run (see the failure record); not tried again.</summary>
    KnownFailure,

    /// <summary>Failed in this run; a failure record was written.</summary>
    Failed,
}

/// <summary>The outcome for one URL. <see cref="Path"/> holds the image when the status is Downloaded or AlreadyCached.</summary>
public sealed record ImageFetchResult(string Url, string Path, ImageFetchStatus Status, int Attempts, string? Error = null)
{
    public bool IsOk => Status is ImageFetchStatus.Downloaded or ImageFetchStatus.AlreadyCached;
}

/// <summary>Counts so far: ok = downloaded now, skipped = already cached or failed before, failed = failed now.</summary>
public sealed record ImageCacheProgress(int Total, int Downloaded, int AlreadyCached, int KnownFailures, int Failed)
{
    public int Ok => Downloaded;
    public int Skipped => AlreadyCached + KnownFailures;
    public int Done => Downloaded + AlreadyCached + KnownFailures + Failed;

    /// <summary>URLs whose image is now in the cache.</summary>
    public int Available => Downloaded + AlreadyCached;
}

/// <summary>Why a URL failed, stored so later runs skip it. <see cref="Permanent"/> is false when the last error was
/// transient (retries ran out).</summary>
public sealed record ImageFailureRecord(string Url, string Reason, int? HttpStatus, bool Permanent, int Attempts, DateTimeOffset When);
