namespace Molmo.Imaging;

/// <summary>
/// SkiaSharp's native library (libSkiaSharp) decodes and draws every image here. On Linux it needs fontconfig, which minimal
/// and GPU container images often lack; the load then fails deep inside SkiaSharp with "the type initializer threw". This
/// turns that into one error that names the missing library and the fix, raised before any image is touched.
/// </summary>
public static class SkiaNative
{
    static readonly Lazy<Exception?> LoadFailure = new(() =>
    {
        try { _ = SkiaSharp.SkiaSharpVersion.Native; return null; }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or EntryPointNotFoundException or BadImageFormatException) { return e; }
    });

    /// <summary>Throws <see cref="ImageLibraryUnavailableException"/> when libSkiaSharp cannot be loaded on this machine.</summary>
    public static void Ensure()
    {
        if (LoadFailure.Value is { } e) throw new ImageLibraryUnavailableException(Explain(e), e);
    }

    /// <summary>The message for a failed load: the loader's own reason, and what to install.</summary>
    public static string Explain(Exception e)
    {
        var inner = e;
        while (inner is TypeInitializationException { InnerException: { } next }) inner = next;
        var reasons = inner.Message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                           .Where(l => l.Contains("cannot open shared object", StringComparison.Ordinal)).ToList();
        string why = reasons.FirstOrDefault(l => !l.Contains("SkiaSharp", StringComparison.Ordinal)) ?? reasons.FirstOrDefault() ?? inner.Message.Split('\n')[0].Trim();
        var message = $"the image library could not be loaded (SkiaSharp's native libSkiaSharp): {why}.";
        if (why.Contains("libfontconfig", StringComparison.Ordinal) || why.Contains("libfreetype", StringComparison.Ordinal))
            message += " It needs fontconfig: install it (Debian/Ubuntu: apt-get install libfontconfig1), or put a folder holding " +
                       "libfontconfig.so.1 and what it needs on LD_LIBRARY_PATH (docs/gpu.md).";
        return message;
    }
}

/// <summary>The native image library cannot be loaded on this machine (see <see cref="SkiaNative"/>).</summary>
public sealed class ImageLibraryUnavailableException(string message, Exception inner) : Exception(message, inner);
