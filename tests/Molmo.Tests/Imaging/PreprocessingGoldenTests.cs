using Molmo.Imaging;
using Xunit.Abstractions;

namespace Molmo.Tests.Imaging;

public class PreprocessingGoldenTests(ITestOutputHelper output)
{
    static readonly ImageCropper Cropper = new();

    [Fact]
    public void IndexHasEightImageCases() => Assert.Equal(8, PreprocessingGolden.Cases.Count);

    [Theory]
    [MemberData(nameof(PreprocessingGolden.CaseNames), MemberType = typeof(PreprocessingGolden))]
    public void DecodedPngHasExactlyTheStoredBytes(string name)
    {
        var c = PreprocessingGolden.Get(name);
        string path = Path.Combine(PreprocessingGolden.Folder, name + ".png");
        var (w, h, expected) = PngBytes.DecodeRgb8(File.ReadAllBytes(path));
        var image = ImageDecoder.Decode(path);
        Assert.Equal((c.W, c.H), (image.Width, image.Height));
        Assert.Equal((w, h), (image.Width, image.Height));
        Assert.True(expected.AsSpan().SequenceEqual(image.Pixels), $"{name}: decoded bytes differ from the PNG's stored RGB");
    }

    [Theory]
    [MemberData(nameof(PreprocessingGolden.CaseNames), MemberType = typeof(PreprocessingGolden))]
    public void TilingMatchesIndex(string name)
    {
        var c = PreprocessingGolden.Get(name);
        Assert.Equal((c.Rows, c.Cols), Tiling.Select(c.H, c.W));
        Assert.Equal((c.Rows, c.Cols), Cropper.SelectTiling(c.H, c.W));
    }

    [Theory]
    [MemberData(nameof(PreprocessingGolden.CaseNames), MemberType = typeof(PreprocessingGolden))]
    public void PreprocessMatchesReference(string name)
    {
        var c = PreprocessingGolden.Get(name);
        var g = new GoldenFile(Path.Combine(PreprocessingGolden.Folder, name + ".safetensors"));
        var image = ImageDecoder.Decode(Path.Combine(PreprocessingGolden.Folder, name + ".png"));

        var p = Cropper.Preprocess(image, PreprocessingGolden.Ids, blockOffset: 1);

        Assert.Equal((c.Rows, c.Cols), (p.Rows, p.Cols));
        Assert.Equal(c.NumCrops, p.NumCrops);

        // images: full, or every 8th patch.
        bool full = g.Has("images");
        string key = full ? "images" : "images_every8th_patch";
        var shape = g.Shape(key);
        var expected = g.F32(key);
        Assert.Equal(p.NumCrops, (int)shape[0]);
        Assert.Equal(p.PixelsPerPatch, (int)shape[2]);
        int step = full ? 1 : 8;
        Assert.Equal((p.PatchesPerCrop + step - 1) / step, (int)shape[1]);
        double maxDiff = 0;
        string where = "";
        for (int t = 0; t < shape[0]; t++)
        for (int q = 0; q < shape[1]; q++)
        {
            var e = expected.AsSpan((int)((t * shape[1] + q) * shape[2]), (int)shape[2]);
            var a = p.Images.AsSpan(((t * p.PatchesPerCrop) + q * step) * p.PixelsPerPatch, p.PixelsPerPatch);
            for (int k = 0; k < e.Length; k++)
            {
                double d = Math.Abs(e[k] - a[k]);
                if (d > maxDiff) { maxDiff = d; where = $"crop {t}, patch {q * step}, value {k}: expected {e[k]}, got {a[k]}"; }
            }
        }
        output.WriteLine($"{name}: tiling {p.Rows}×{p.Cols}, images max |Δ| = {maxDiff:E2}");
        Assert.True(maxDiff <= 5e-6, $"{name}: images max |Δ| = {maxDiff:E3} at {where}");
        Assert.True(maxDiff == 0, $"{name}: images within tolerance but not bit-exact (max |Δ| = {maxDiff:E3} at {where})");

        Assert.Equal(g.Shape("image_masks"), p.ImageMasksShape.Select(x => (long)x).ToArray());
        Assert.Equal(g.F32("image_masks"), p.ImageMasks);

        Assert.Equal(g.Shape("image_input_idx"), p.ImageInputIdxShape.Select(x => (long)x).ToArray());
        Assert.Equal(g.I64("image_input_idx"), p.ImageInputIdx);

        // input_ids = BOS + image block + text.
        var ids = g.I64("input_ids");
        Assert.Equal(c.SeqLen, ids.Length);
        Assert.Equal(PreprocessingGolden.Ids.Bos, ids[0]);
        Assert.Equal(c.TextTokens, ids[^c.TextTokens.Length..]);
        Assert.Equal(ids[1..(ids.Length - c.TextTokens.Length)], p.ImageTokens.Select(x => (long)x).ToArray());
    }
}
