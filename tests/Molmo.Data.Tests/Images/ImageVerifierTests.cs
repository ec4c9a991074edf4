using Molmo.Data.Images;
using Molmo.Data.Tests.Fixtures;
using SkiaSharp;

namespace Molmo.Data.Tests.Images;

public class ImageVerifierTests
{
    static byte[] Encode(SKEncodedImageFormat format, int w = 64, int h = 48)
    {
        using var bmp = new SKBitmap(w, h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) bmp.SetPixel(x, y, new SKColor((byte)(x * 4), (byte)(y * 5), (byte)((x * y) % 256)));
        using var data = bmp.Encode(format, 90);
        return data.ToArray();
    }

    static bool Check(byte[] bytes, out string reason)
    {
        var path = PixmoFixtures.TempFile("img");
        File.WriteAllBytes(path, bytes);
        return ImageVerifier.IsCompleteImage(path, out reason);
    }

    [Theory]
    [InlineData(SKEncodedImageFormat.Png)]
    [InlineData(SKEncodedImageFormat.Jpeg)]
    [InlineData(SKEncodedImageFormat.Webp)]
    public void Complete_images_pass_and_truncated_ones_fail(SKEncodedImageFormat format)
    {
        var bytes = Encode(format);
        Assert.True(Check(bytes, out var why), why);
        Assert.False(Check(bytes[..(bytes.Length * 2 / 3)], out var reason));
        Assert.NotEmpty(reason);
    }

    [Fact]
    public void Non_images_fail()
    {
        Assert.False(Check("<html>not found</html>"u8.ToArray(), out var reason));
        Assert.Contains("not a decodable image", reason);
    }
}
