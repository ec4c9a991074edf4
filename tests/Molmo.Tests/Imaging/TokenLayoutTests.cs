using Molmo.Imaging;

namespace Molmo.Tests.Imaging;

public class TokenLayoutTests
{
    public static TheoryData<int, int> AllTilings()
    {
        var d = new TheoryData<int, int>();
        foreach (var (r, c) in Tiling.Candidates(12)) d.Add(r, c);
        return d;
    }

    [Theory]
    [MemberData(nameof(AllTilings))]
    public void CountsFollowTheClosedForms(int r, int c)
    {
        var ids = PreprocessingGolden.Ids;
        var tokens = ImageTokenLayout.Tokens(r, c, ids);
        // Spec §3.8/§3.10: 160 + (8R+4)(8C+5) tokens, 144 + (8R+4)(8C+4) patches, 12 + (8R+4) column tokens.
        Assert.Equal(160 + (8 * r + 4) * (8 * c + 5), tokens.Length);
        Assert.Equal(tokens.Length, ImageTokenLayout.TokenCount(r, c));
        Assert.Equal(144 + (8 * r + 4) * (8 * c + 4), tokens.Count(t => t == ids.ImPatch));
        Assert.Equal(12 + 8 * r + 4, tokens.Count(t => t == ids.ImCol));
        Assert.Equal(2, tokens.Count(t => t == ids.ImStart));
        Assert.Equal(2, tokens.Count(t => t == ids.ImEnd));
        Assert.Equal(ids.ImStart, tokens[0]);
        Assert.Equal(ids.ImEnd, tokens[157]);
        Assert.Equal(ids.ImStart, tokens[158]);
        Assert.Equal(ids.ImEnd, tokens[^1]);
        Assert.Equal((8 * r + 4, 8 * c + 4), ImageTokenLayout.PooledGrid(r, c));
    }

    [Theory]
    [MemberData(nameof(AllTilings))]
    public void KeptFeaturesLandExactlyOnceOnEveryPatchToken(int r, int c)
    {
        var ids = PreprocessingGolden.Ids;
        foreach (int offset in new[] { 0, 1, 37 })
        {
            var tokens = ImageTokenLayout.Tokens(r, c, ids);
            var idx = ImageTokenLayout.InputIndex(r, c, offset);
            Assert.Equal((1 + r * c) * 144, idx.Length);
            var kept = idx.Where(v => v != -100).ToArray();
            Assert.All(idx, v => Assert.True(v == -100 || v >= offset));
            var patchPositions = Enumerable.Range(0, tokens.Length).Where(k => tokens[k] == ids.ImPatch).Select(k => (long)k + offset).ToArray();
            Assert.Equal(patchPositions, kept.Order().ToArray());
            // The global row is complete: all 144 features are used.
            Assert.DoesNotContain(-100L, idx.AsSpan(0, 144).ToArray());
        }
    }

    [Fact]
    public void BlockOffsetShiftsEveryKeptPosition()
    {
        var a = ImageTokenLayout.InputIndex(2, 3, 1);
        var b = ImageTokenLayout.InputIndex(2, 3, 10);
        for (int k = 0; k < a.Length; k++) Assert.Equal(a[k] == -100 ? -100 : a[k] + 9, b[k]);
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageTokenLayout.InputIndex(2, 3, -1));
    }
}
