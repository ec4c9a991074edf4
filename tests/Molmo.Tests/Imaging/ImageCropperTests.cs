using System.Text.RegularExpressions;
using Molmo.Imaging;
using Molmo.TestSupport;

namespace Molmo.Tests.Imaging;

public class ImageCropperTests
{
    static RgbImage Random(int w, int h, int seed)
    {
        var px = new byte[w * h * 3];
        new Random(seed).NextBytes(px);
        return RgbImage.FromRgb(w, h, px);
    }

    /// <summary>The resize goldens are named after the sizes resize_and_pad chose (input → scaled): check the float32 size rule on them.</summary>
    [Fact]
    public void ScaledSizesMatchTheResizeGoldens()
    {
        var pattern = new Regex(@"resize_(\d+)x(\d+)_to_(\d+)x(\d+)\.safetensors");
        int checkedCount = 0;
        foreach (var f in Directory.GetFiles(Path.Combine(TestPaths.Golden, "resize")))
        {
            var m = pattern.Match(Path.GetFileName(f));
            Assert.True(m.Success, f);
            int H = int.Parse(m.Groups[1].Value), W = int.Parse(m.Groups[2].Value);
            int h = int.Parse(m.Groups[3].Value), w = int.Parse(m.Groups[4].Value);
            // Which target gave this size: the global 336² or the tiling's canvas.
            var (r, c) = Tiling.Select(H, W);
            var candidates = new[] { (336, 336), (r * 224 + 112, c * 224 + 112) };
            if (candidates.Any(t => ResizeAndPad.ScaledSize(H, W, t.Item1, t.Item2) == (h, w))) checkedCount++;
        }
        // The two synthetic-size goldens (13×7, 37×53) are not processor sizes; the other five are.
        Assert.True(checkedCount >= 5, $"only {checkedCount} resize goldens matched a processor size");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3000, 1)]
    [InlineData(1, 3000)]
    [InlineData(20000, 2)]
    [InlineData(113, 777)]
    public void ExtremeShapesGiveConsistentArrays(int w, int h)
    {
        var p = new ImageCropper().Preprocess(Random(w, h, w + h), PreprocessingGolden.Ids);
        int t = p.NumCrops;
        Assert.Equal(1 + p.Rows * p.Cols, t);
        Assert.Equal(t * 576 * 588, p.Images.Length);
        Assert.Equal(t * 576, p.ImageMasks.Length);
        Assert.Equal(t * 144, p.ImageInputIdx.Length);
        Assert.Equal(ImageTokenLayout.TokenCount(p.Rows, p.Cols), p.ImageTokens.Length);
        Assert.All(p.ImageMasks.AsSpan(0, (t - 1) * 576).ToArray(), v => Assert.Equal(Math.Round(v * 196) / 196, v, 6));
        Assert.All(p.ImageMasks.AsSpan((t - 1) * 576).ToArray(), v => Assert.Equal(-1f, v));
        Assert.All(p.Images, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void MaskRowsAreTheCropsValidityFractions()
    {
        var img = Random(300, 90, 3);
        var cropper = new ImageCropper();
        var p = cropper.Preprocess(img, PreprocessingGolden.Ids);
        var canvas = ResizeAndPad.Apply(img, p.Rows * 224 + 112, p.Cols * 224 + 112);
        for (int k = 0; k < p.Rows * p.Cols; k++)
        {
            int y0 = k / p.Cols * 224, x0 = k % p.Cols * 224;
            for (int q = 0; q < 576; q++)
            {
                int valid = 0;
                for (int dy = 0; dy < 14; dy++)
                    for (int dx = 0; dx < 14; dx++)
                        if (canvas.IsValid(y0 + q / 24 * 14 + dy, x0 + q % 24 * 14 + dx)) valid++;
                Assert.Equal(valid / 196f, p.ImageMasks[k * 576 + q]);
            }
        }
    }

    [Fact]
    public void PaddingIsZeroBeforeNormalisation()
    {
        var o = ImageCropperOptions.Default;
        // A wide image: the global 336² image has padding rows at the top.
        var p = new ImageCropper().Preprocess(Random(600, 100, 4), PreprocessingGolden.Ids);
        var topLeft = p.Images.AsSpan(0, 588);
        for (int k = 0; k < 588; k++)
            Assert.Equal((0f - o.ImageMean[k % 3]) / o.ImageStd[k % 3], topLeft[k]);
    }

    [Fact]
    public void BlockOffsetMovesOnlyTheIndices()
    {
        var img = Random(200, 150, 5);
        var cropper = new ImageCropper();
        var a = cropper.Preprocess(img, PreprocessingGolden.Ids, blockOffset: 1);
        var b = cropper.Preprocess(img, PreprocessingGolden.Ids, blockOffset: 0);
        Assert.Equal(a.Images, b.Images);
        Assert.Equal(a.ImageMasks, b.ImageMasks);
        Assert.Equal(a.ImageTokens, b.ImageTokens);
        for (int k = 0; k < a.ImageInputIdx.Length; k++)
            Assert.Equal(a.ImageInputIdx[k] < 0 ? a.ImageInputIdx[k] : a.ImageInputIdx[k] - 1, b.ImageInputIdx[k]);
    }

    [Fact]
    public void InvalidOptionsAreRejected()
    {
        Assert.Throws<ArgumentException>(() => new ImageCropper(new ImageCropperOptions { MaxCrops = 0 }));
        Assert.Throws<ArgumentException>(() => new ImageCropper(new ImageCropperOptions { BaseImageSize = 330 }));
        Assert.Throws<ArgumentException>(() => new ImageCropper(new ImageCropperOptions { OverlapMarginLeft = 3 }));
        Assert.Throws<ArgumentException>(() => new ImageCropper(new ImageCropperOptions { OverlapMarginLeft = 12, OverlapMarginRight = 12 }));
        Assert.Throws<ArgumentException>(() => new ImageCropper(new ImageCropperOptions { ImageStd = [1f, 0f, 1f] }));
    }

    [Fact]
    public void MaxCropsOptionLimitsTheTiling()
    {
        var img = Random(1800, 1200, 6);
        var p = new ImageCropper(new ImageCropperOptions { MaxCrops = 36 }).Preprocess(img, PreprocessingGolden.Ids);
        Assert.True(p.Rows * p.Cols <= 36);
        Assert.Equal(Tiling.Select(1200, 1800, 36), (p.Rows, p.Cols));
    }
}
