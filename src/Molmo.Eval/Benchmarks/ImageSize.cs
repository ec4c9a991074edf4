using SkiaSharp;

namespace Molmo.Eval.Benchmarks;

/// <summary>Reads an image's pixel size from its header (no full decode).</summary>
public static class ImageSize
{
    public static (int Width, int Height) Read(BenchmarkItem item)
    {
        if (item.ImageBytes != null)
        {
            using var data = SKData.CreateCopy(item.ImageBytes);
            using var codec = SKCodec.Create(data) ?? throw new InvalidDataException($"item {item.Id}: image bytes are not a decodable image");
            return (codec.Info.Width, codec.Info.Height);
        }
        if (item.ImagePath != null)
        {
            if (!File.Exists(item.ImagePath)) throw new FileNotFoundException($"item {item.Id}: image not found: {item.ImagePath}", item.ImagePath);
            using var codec = SKCodec.Create(item.ImagePath) ?? throw new InvalidDataException($"item {item.Id}: cannot decode image {item.ImagePath}");
            return (codec.Info.Width, codec.Info.Height);
        }
        throw new InvalidDataException($"item {item.Id}: no image (\"image\" path or \"image_bytes\")");
    }
}
