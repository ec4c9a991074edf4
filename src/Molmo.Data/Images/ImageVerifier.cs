using SkiaSharp;

namespace Molmo.Data.Images;

/// <summary>Checks that a file is a complete, decodable image (the check used when a dataset has no sha256).</summary>
public static class ImageVerifier
{
    /// <summary>
    /// Decodes the whole image. Unlike the official loader (PIL with <c>LOAD_TRUNCATED_IMAGES</c>), a truncated file
    /// is rejected, so a cut-off download never counts as an image.
    /// </summary>
    public static bool IsCompleteImage(string path, out string reason)
    {
        using var codec = SKCodec.Create(path);
        if (codec is null) { reason = "not a decodable image"; return false; }
        var info = codec.Info;
        if (info.Width <= 0 || info.Height <= 0) { reason = $"image has size {info.Width}x{info.Height}"; return false; }
        using var bitmap = new SKBitmap(new SKImageInfo(info.Width, info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var result = codec.GetPixels(bitmap.Info, bitmap.GetPixels());
        if (result != SKCodecResult.Success) { reason = $"image does not decode completely ({result})"; return false; }
        reason = "";
        return true;
    }
}
