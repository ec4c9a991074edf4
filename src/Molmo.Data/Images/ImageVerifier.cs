using SkiaSharp;

namespace Molmo.Data.Images;

/// <summary>Checks that a file is a complete, decodable image (the check used when a dataset has no sha256).</summary>
public static class ImageVerifier
{
    /// <summary>Full decodes of formats without scanline decoding are limited to this many at once (memory bound).</summary>
    static readonly SemaphoreSlim FullDecodes = new(2);

    /// <summary>
    /// Decodes the whole image. Unlike the official loader (PIL with <c>LOAD_TRUNCATED_IMAGES</c>), a truncated file
    /// is rejected, so a cut-off download never counts as an image. Formats that support it (JPEG, PNG, …) are decoded a
    /// row at a time, so memory stays small even for very large images.
    /// </summary>
    public static bool IsCompleteImage(string path, out string reason)
    {
        using var codec = SKCodec.Create(path);
        if (codec is null) { reason = "not a decodable image"; return false; }
        var info = codec.Info;
        if (info.Width <= 0 || info.Height <= 0) { reason = $"image has size {info.Width}x{info.Height}"; return false; }
        var target = new SKImageInfo(info.Width, info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);

        if (codec.StartScanlineDecode(target) == SKCodecResult.Success)
        {
            using var row = new SKBitmap(new SKImageInfo(info.Width, 1, SKColorType.Rgba8888, SKAlphaType.Unpremul));
            for (int y = 0; y < info.Height; y++)
            {
                if (codec.GetScanlines(row.GetPixels(), 1, row.RowBytes) != 1)
                {
                    reason = $"image data ends at row {y} of {info.Height}";
                    return false;
                }
            }
            reason = "";
            return true;
        }

        FullDecodes.Wait();
        try
        {
            using var bitmap = new SKBitmap(target);
            var result = codec.GetPixels(bitmap.Info, bitmap.GetPixels());
            if (result != SKCodecResult.Success) { reason = $"image does not decode completely ({result})"; return false; }
        }
        finally { FullDecodes.Release(); }
        reason = "";
        return true;
    }
}
