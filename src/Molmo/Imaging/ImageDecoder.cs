using System.Runtime.InteropServices;
using SkiaSharp;

namespace Molmo.Imaging;

/// <summary>
/// Decodes PNG, JPEG, WebP, GIF (first frame) and BMP into an <see cref="RgbImage"/> the way PIL's <c>convert("RGB")</c> does:
/// alpha is dropped with the stored (unpremultiplied) colour kept, greyscale is replicated to R = G = B, and no colour management
/// is applied. EXIF orientation is ignored unless asked for, matching the Hugging Face Molmo processor (spec §3.1).
/// </summary>
public static class ImageDecoder
{
    static readonly SKEncodedImageFormat[] Supported =
    [
        SKEncodedImageFormat.Png, SKEncodedImageFormat.Jpeg, SKEncodedImageFormat.Webp, SKEncodedImageFormat.Gif, SKEncodedImageFormat.Bmp,
    ];

    /// <summary>Reads and decodes the image file at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">the file does not exist.</exception>
    /// <exception cref="InvalidDataException">the file is empty, corrupt, truncated, of an unsupported format, or too large.</exception>
    public static RgbImage Decode(string path, bool exifRotate = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"image file not found: {path}", path);
        return Decode(File.ReadAllBytes(path), exifRotate, path);
    }

    /// <summary>Decodes an encoded image held in memory; <paramref name="sourceName"/> names it in error messages.</summary>
    public static RgbImage Decode(byte[] encoded, bool exifRotate = false, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        return Decode(encoded.AsSpan(), exifRotate, sourceName);
    }

    /// <summary>Decodes an encoded image held in memory; <paramref name="sourceName"/> names it in error messages.</summary>
    public static RgbImage Decode(ReadOnlySpan<byte> encoded, bool exifRotate = false, string? sourceName = null)
    {
        string src = sourceName ?? "image data";
        if (encoded.IsEmpty) throw new InvalidDataException($"{src}: the file is empty (0 bytes), expected a PNG, JPEG, WebP, GIF or BMP image.");
        SkiaNative.Ensure();

        using var data = SKData.CreateCopy(encoded);
        // The codec takes ownership of the stream it is created from.
        var stream = new SKMemoryStream(data);
        using var codec = SKCodec.Create(stream, out var createResult);
        if (codec is null)
        {
            stream.Dispose();
            string why = createResult switch
            {
                SKCodecResult.IncompleteInput => "the data is truncated (the header is incomplete)",
                SKCodecResult.Unimplemented => "the data is not in a recognised image format",
                _ => $"the data is not a recognised image or its header is corrupt ({createResult})",
            };
            throw new InvalidDataException($"{src}: cannot decode image: {why}. Supported formats: PNG, JPEG, WebP, GIF, BMP.");
        }
        if (Array.IndexOf(Supported, codec.EncodedFormat) < 0)
            throw new InvalidDataException($"{src}: {codec.EncodedFormat} images are not supported; use PNG, JPEG, WebP, GIF or BMP.");

        // Size checks use the header only, before any pixel memory is allocated.
        int width = codec.Info.Width, height = codec.Info.Height;
        ImageLimits.Check(width, height, src);

        // No colour space on the destination: Skia then copies the stored values (no ICC/gamma conversion, like PIL).
        var dstInfo = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        byte[] rgba = GC.AllocateUninitializedArray<byte>(checked(width * height * 4));
        SKCodecResult result;
        unsafe
        {
            fixed (byte* p = rgba)
                result = codec.GetPixels(dstInfo, (IntPtr)p);
        }
        if (result != SKCodecResult.Success)
        {
            string why = result switch
            {
                SKCodecResult.IncompleteInput => "the file is truncated (pixel data ends early)",
                SKCodecResult.ErrorInInput => "the pixel data is corrupt",
                SKCodecResult.InvalidConversion => "its pixel format cannot be converted to RGB",
                _ => $"decoding failed ({result})",
            };
            throw new InvalidDataException($"{src}: cannot decode {codec.EncodedFormat} image ({width}×{height}): {why}.");
        }

        byte[] rgb = GC.AllocateUninitializedArray<byte>(width * height * 3);
        RgbaToRgb(rgba, rgb, width, height);

        var image = new RgbImage(width, height, rgb);
        if (exifRotate && codec.EncodedOrigin != SKEncodedOrigin.TopLeft)
            image = ExifOrientation.Apply(image, codec.EncodedOrigin);
        return image;
    }

    static void RgbaToRgb(byte[] rgba, byte[] rgb, int width, int height)
    {
        void Row(int y)
        {
            var s = MemoryMarshal.Cast<byte, uint>(rgba.AsSpan(y * width * 4, width * 4));
            var d = rgb.AsSpan(y * width * 3, width * 3);
            for (int x = 0, o = 0; x < s.Length; x++, o += 3)
            {
                uint v = s[x]; // little-endian R, G, B, A
                d[o] = (byte)v;
                d[o + 1] = (byte)(v >> 8);
                d[o + 2] = (byte)(v >> 16);
            }
        }
        if ((long)width * height < 1 << 18) { for (int y = 0; y < height; y++) Row(y); }
        else Parallel.For(0, height, Row);
    }
}
