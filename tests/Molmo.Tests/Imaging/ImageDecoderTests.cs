using System.Buffers.Binary;
using System.Text;
using Molmo.Imaging;
using Molmo.TestSupport;
using SkiaSharp;

namespace Molmo.Tests.Imaging;

public class ImageDecoderTests
{
    static byte[] Encode(SKBitmap bmp, SKEncodedImageFormat format, int quality = 100)
    {
        using var data = bmp.Encode(format, quality);
        return data.ToArray();
    }

    static SKBitmap Noise(int w, int h, SKColorType type, SKAlphaType alpha, int seed)
    {
        var bmp = new SKBitmap(new SKImageInfo(w, h, type, alpha));
        new Random(seed).NextBytes(bmp.GetPixelSpan());
        return bmp;
    }

    static void AssertInvalid(Action decode, params string[] mustMention)
    {
        var ex = Assert.Throws<InvalidDataException>(decode);
        foreach (var s in mustMention) Assert.Contains(s, ex.Message);
    }

    [Fact]
    public void RgbaPngKeepsTheStoredUnpremultipliedColourAndDropsAlpha()
    {
        using var bmp = Noise(37, 23, SKColorType.Rgba8888, SKAlphaType.Unpremul, 1);
        var src = bmp.GetPixelSpan().ToArray();
        // Include fully transparent and nearly transparent pixels with non-zero colour.
        src[3] = 0; src[7] = 1; src[11] = 128;
        src.CopyTo(bmp.GetPixelSpan());
        var png = Encode(bmp, SKEncodedImageFormat.Png);

        var img = ImageDecoder.Decode(png, sourceName: "rgba.png");

        Assert.Equal((37, 23), (img.Width, img.Height));
        AssertRgbOfRgba(src, img.Pixels, 37 * 23);
    }

    [Fact]
    public void GammaChunkDoesNotChangeTheStoredValues()
    {
        // PIL applies no colour management; a gAMA chunk (gamma 1.0 here, far from sRGB) must not alter the decoded bytes.
        using var bmp = Noise(16, 9, SKColorType.Rgba8888, SKAlphaType.Opaque, 8);
        var src = bmp.GetPixelSpan().ToArray();
        var png = Encode(bmp, SKEncodedImageFormat.Png);
        int ihdrEnd = 8 + 12 + 13;
        var gama = PngBytes.Chunk("gAMA", [0, 1, 0x86, 0xA0]); // 100000 = gamma 1.0
        var withGamma = png.Take(ihdrEnd).Concat(gama).Concat(png.Skip(ihdrEnd)).ToArray();

        var img = ImageDecoder.Decode(withGamma);

        AssertRgbOfRgba(src, img.Pixels, 16 * 9);
    }

    [Fact]
    public void GreyscalePngIsReplicatedToRgb()
    {
        using var bmp = Noise(19, 11, SKColorType.Gray8, SKAlphaType.Opaque, 2);
        var grey = bmp.GetPixelSpan().ToArray();
        var png = Encode(bmp, SKEncodedImageFormat.Png);
        Assert.Equal(0, png[25] & 2); // IHDR colour type: greyscale (no colour bit), so the file really is grey

        var img = ImageDecoder.Decode(png);

        for (int i = 0; i < grey.Length; i++)
            Assert.Equal((grey[i], grey[i], grey[i]), (img.Pixels[i * 3], img.Pixels[i * 3 + 1], img.Pixels[i * 3 + 2]));
    }

    [Fact]
    public void LosslessWebpRoundTrips()
    {
        using var bmp = Noise(33, 17, SKColorType.Rgba8888, SKAlphaType.Unpremul, 3);
        var px = bmp.GetPixelSpan();
        for (int i = 3; i < px.Length; i += 4) px[i] = 255;
        var src = px.ToArray();
        using var pixmap = bmp.PeekPixels() ?? throw new InvalidOperationException("bitmap has no pixels");
        using var data = pixmap.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossless, 100))
            ?? throw new InvalidOperationException("WebP encoding failed");
        var webp = data.ToArray();
        Assert.Equal("WEBP", Encoding.ASCII.GetString(webp, 8, 4));

        var img = ImageDecoder.Decode(webp);

        Assert.Equal((33, 17), (img.Width, img.Height));
        AssertRgbOfRgba(src, img.Pixels, 33 * 17);
    }

    [Fact]
    public void JpegDecodesCloseToTheSource()
    {
        using var bmp = new SKBitmap(new SKImageInfo(64, 48, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(bmp)) canvas.Clear(new SKColor(200, 60, 30));
        var img = ImageDecoder.Decode(Encode(bmp, SKEncodedImageFormat.Jpeg, 95));
        Assert.Equal((64, 48), (img.Width, img.Height));
        for (int i = 0; i < img.Pixels.Length; i += 3)
        {
            Assert.InRange(img.Pixels[i], 195, 205);
            Assert.InRange(img.Pixels[i + 1], 55, 65);
            Assert.InRange(img.Pixels[i + 2], 25, 35);
        }
    }

    [Fact]
    public void TruncatedJpegIsRejected()
    {
        using var bmp = Noise(128, 96, SKColorType.Rgba8888, SKAlphaType.Opaque, 4);
        var jpeg = Encode(bmp, SKEncodedImageFormat.Jpeg, 90);
        AssertInvalid(() => ImageDecoder.Decode(jpeg.AsSpan(0, jpeg.Length / 2), sourceName: "cut.jpg"), "cut.jpg", "truncated");
    }

    [Fact]
    public void CorruptPngIsRejected()
    {
        using var bmp = Noise(64, 64, SKColorType.Rgba8888, SKAlphaType.Opaque, 5);
        var png = Encode(bmp, SKEncodedImageFormat.Png);
        var bad = (byte[])png.Clone();
        for (int i = 100; i < bad.Length - 20; i += 7) bad[i] ^= 0x5A; // scramble the compressed pixel data
        AssertInvalid(() => ImageDecoder.Decode(bad, sourceName: "scrambled.png"), "scrambled.png");

        var notAnImage = Encoding.ASCII.GetBytes("this is plainly not an image file at all");
        AssertInvalid(() => ImageDecoder.Decode(notAnImage, sourceName: "notes.txt"), "notes.txt", "recognised image");
    }

    [Fact]
    public void EmptyAndMissingFilesAreRejected()
    {
        var dir = TestPaths.NewTempDir();
        var empty = Path.Combine(dir, "empty.png");
        File.WriteAllBytes(empty, []);
        AssertInvalid(() => ImageDecoder.Decode(empty), empty, "empty");
        Assert.Throws<FileNotFoundException>(() => ImageDecoder.Decode(Path.Combine(dir, "missing.png")));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void CorruptFileErrorNamesThePath()
    {
        var dir = TestPaths.NewTempDir();
        var path = Path.Combine(dir, "garbage.jpg");
        File.WriteAllBytes(path, [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A]);
        AssertInvalid(() => ImageDecoder.Decode(path), path);
        Directory.Delete(dir, true);
    }

    [Fact]
    public void OversizedSideIsRejectedFromTheHeader()
    {
        var png = PngBytes.HeaderOnly(30000, 10);
        AssertInvalid(() => ImageDecoder.Decode(png, sourceName: "wide.png"), "wide.png", "30000", ImageLimits.MaxSide.ToString());
    }

    [Fact]
    public void MoreThanHundredMegapixelsIsRejectedFromTheHeader()
    {
        var png = PngBytes.HeaderOnly(12000, 12000);
        AssertInvalid(() => ImageDecoder.Decode(png, sourceName: "huge.png"), "huge.png", "12000", "100 MP");
    }

    [Fact]
    public void GifGivesItsFirstFrame()
    {
        var gif = TwoFrameGif(5, 3);
        var img = ImageDecoder.Decode(gif, sourceName: "anim.gif");
        Assert.Equal((5, 3), (img.Width, img.Height));
        for (int i = 0; i < 15; i++)
        {
            var expected = GifPalette[i % 3]; // frame 0 uses colours 0, 1, 2 in turn; frame 1 is all colour 3
            Assert.Equal(expected, (img.Pixels[i * 3], img.Pixels[i * 3 + 1], img.Pixels[i * 3 + 2]));
        }
    }

    [Fact]
    public void BmpDecodes()
    {
        var rng = new Random(6);
        int w = 7, h = 5;
        var rgb = new byte[w * h * 3];
        rng.NextBytes(rgb);
        var img = ImageDecoder.Decode(Bmp24(w, h, rgb), sourceName: "x.bmp");
        Assert.Equal((w, h), (img.Width, img.Height));
        Assert.Equal(rgb, img.Pixels);
    }

    [Fact]
    public void ExifOrientationIsIgnoredUnlessAsked()
    {
        using var bmp = new SKBitmap(new SKImageInfo(40, 24, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(bmp))
        {
            canvas.Clear(SKColors.White);
            using var red = new SKPaint { Color = SKColors.Red };
            canvas.DrawRect(0, 0, 8, 8, red); // top-left corner of the stored image
        }
        var jpeg = WithExifOrientation(Encode(bmp, SKEncodedImageFormat.Jpeg, 95), 6);

        var stored = ImageDecoder.Decode(jpeg);
        Assert.Equal((40, 24), (stored.Width, stored.Height));
        Assert.True(stored[1, 1].R > 200 && stored[1, 1].G < 60);

        // Orientation 6: rotate 90° clockwise to display, so the stored top-left lands top-right.
        var upright = ImageDecoder.Decode(jpeg, exifRotate: true);
        Assert.Equal((24, 40), (upright.Width, upright.Height));
        Assert.True(upright[22, 1].R > 200 && upright[22, 1].G < 60);
        Assert.True(upright[1, 1].G > 200);
    }

    [Fact]
    public void OrientationsInvertEachOther()
    {
        var rgb = new byte[3 * 2 * 3];
        for (int i = 0; i < rgb.Length; i++) rgb[i] = (byte)i;
        var img = RgbImage.FromRgb(3, 2, rgb);
        var pairs = new[]
        {
            (SKEncodedOrigin.TopRight, SKEncodedOrigin.TopRight), (SKEncodedOrigin.BottomRight, SKEncodedOrigin.BottomRight),
            (SKEncodedOrigin.BottomLeft, SKEncodedOrigin.BottomLeft), (SKEncodedOrigin.LeftTop, SKEncodedOrigin.LeftTop),
            (SKEncodedOrigin.RightBottom, SKEncodedOrigin.RightBottom), (SKEncodedOrigin.RightTop, SKEncodedOrigin.LeftBottom),
        };
        foreach (var (a, b) in pairs)
        {
            var back = ExifOrientation.Apply(ExifOrientation.Apply(img, a), b);
            Assert.Equal((3, 2), (back.Width, back.Height));
            Assert.Equal(rgb, back.Pixels);
        }
        var cw = ExifOrientation.Apply(img, SKEncodedOrigin.RightTop);
        Assert.Equal((2, 3), (cw.Width, cw.Height));
        Assert.Equal(img[0, 1], cw[0, 0]); // rotating clockwise brings the bottom-left pixel to the top-left
    }

    [Fact]
    public void FromRgbChecksItsArguments()
    {
        Assert.Throws<ArgumentException>(() => RgbImage.FromRgb(2, 2, new byte[11]));
        Assert.Throws<InvalidDataException>(() => RgbImage.FromRgb(0, 2, []));
        Assert.Throws<InvalidDataException>(() => RgbImage.FromRgb(20001, 1, new byte[20001 * 3]));
        var img = RgbImage.FromRgb(2, 1, [1, 2, 3, 4, 5, 6]);
        Assert.Equal(((byte)4, (byte)5, (byte)6), img[1, 0]);
    }

    // ---- hand-written files for formats SkiaSharp cannot encode ----

    static readonly (byte, byte, byte)[] GifPalette = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)];

    /// <summary>A GIF89a with two frames: frame 0 cycles palette entries 0, 1, 2; frame 1 is all entry 3.</summary>
    static byte[] TwoFrameGif(int w, int h)
    {
        var ms = new MemoryStream();
        ms.Write("GIF89a"u8);
        Span<byte> lsd = stackalloc byte[7];
        BinaryPrimitives.WriteUInt16LittleEndian(lsd, (ushort)w);
        BinaryPrimitives.WriteUInt16LittleEndian(lsd[2..], (ushort)h);
        lsd[4] = 0b1000_0001; // global colour table, 4 entries
        ms.Write(lsd);
        foreach (var (r, g, b) in GifPalette) { ms.WriteByte(r); ms.WriteByte(g); ms.WriteByte(b); }
        for (int frame = 0; frame < 2; frame++)
        {
            ms.Write([0x21, 0xF9, 4, 0b0000_0100, 10, 0, 0, 0]); // graphic control: keep the frame, 0.1 s
            ms.WriteByte(0x2C);
            var desc = new byte[9];
            BinaryPrimitives.WriteUInt16LittleEndian(desc.AsSpan(4), (ushort)w);
            BinaryPrimitives.WriteUInt16LittleEndian(desc.AsSpan(6), (ushort)h);
            ms.Write(desc);
            var indices = Enumerable.Range(0, w * h).Select(i => frame == 0 ? i % 3 : 3).ToArray();
            ms.WriteByte(2); // LZW minimum code size
            var lzw = LzwLiterals(indices);
            for (int o = 0; o < lzw.Length; o += 255)
            {
                int n = Math.Min(255, lzw.Length - o);
                ms.WriteByte((byte)n);
                ms.Write(lzw, o, n);
            }
            ms.WriteByte(0);
        }
        ms.WriteByte(0x3B);
        return ms.ToArray();
    }

    /// <summary>LZW with 3-bit codes only: a clear code before every two literals keeps the decoder's table from growing.</summary>
    static byte[] LzwLiterals(int[] indices)
    {
        const int clear = 4, end = 5;
        var codes = new List<int>();
        for (int i = 0; i < indices.Length; i++)
        {
            if (i % 2 == 0) codes.Add(clear);
            codes.Add(indices[i]);
        }
        codes.Add(end);
        var bytes = new List<byte>();
        int acc = 0, bits = 0;
        foreach (int c in codes)
        {
            acc |= c << bits;
            bits += 3;
            while (bits >= 8) { bytes.Add((byte)acc); acc >>= 8; bits -= 8; }
        }
        if (bits > 0) bytes.Add((byte)acc);
        return bytes.ToArray();
    }

    /// <summary>A 24-bit BI_RGB bottom-up BMP of the given RGB pixels.</summary>
    static byte[] Bmp24(int w, int h, byte[] rgb)
    {
        int stride = (w * 3 + 3) & ~3;
        var b = new byte[54 + stride * h];
        b[0] = (byte)'B'; b[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(2), b.Length);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(18), w);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(22), h);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(28), 24);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(34), stride * h);
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
        {
            int s = (y * w + x) * 3, d = 54 + (h - 1 - y) * stride + x * 3;
            b[d] = rgb[s + 2]; b[d + 1] = rgb[s + 1]; b[d + 2] = rgb[s]; // stored as B, G, R
        }
        return b;
    }

    /// <summary>Inserts an APP1 Exif segment with the given Orientation tag right after the JPEG's SOI marker.</summary>
    static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        var tiff = new List<byte>();
        tiff.AddRange("II*\0"u8.ToArray());
        tiff.AddRange(BitConverter.GetBytes(8));          // offset of IFD0
        tiff.AddRange(BitConverter.GetBytes((ushort)1));  // one entry
        tiff.AddRange(BitConverter.GetBytes((ushort)0x0112)); // Orientation
        tiff.AddRange(BitConverter.GetBytes((ushort)3));  // SHORT
        tiff.AddRange(BitConverter.GetBytes(1));          // count
        tiff.AddRange(BitConverter.GetBytes(orientation));
        tiff.AddRange(new byte[2]);
        tiff.AddRange(BitConverter.GetBytes(0));          // no next IFD
        var payload = "Exif\0\0"u8.ToArray().Concat(tiff).ToArray();
        var seg = new byte[4 + payload.Length];
        seg[0] = 0xFF; seg[1] = 0xE1;
        BinaryPrimitives.WriteUInt16BigEndian(seg.AsSpan(2), (ushort)(payload.Length + 2));
        payload.CopyTo(seg, 4);
        return jpeg.Take(2).Concat(seg).Concat(jpeg.Skip(2)).ToArray();
    }

    /// <summary>Each RGB pixel equals the RGB of the matching RGBA source pixel.</summary>
    static void AssertRgbOfRgba(byte[] rgba, byte[] rgb, int pixels)
    {
        for (int i = 0; i < pixels; i++)
            Assert.Equal((rgba[i * 4], rgba[i * 4 + 1], rgba[i * 4 + 2]), (rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]));
    }
}
