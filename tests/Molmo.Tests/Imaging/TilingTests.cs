using Molmo.Imaging;

namespace Molmo.Tests.Imaging;

public class TilingTests
{
    [Fact]
    public void CandidatesAreAllPairsSortedByCropsThenRows()
    {
        var c = Tiling.Candidates(12);
        var all = new HashSet<(int, int)>();
        for (int i = 1; i <= 12; i++) for (int j = 1; j <= 12; j++) if (i * j <= 12) all.Add((i, j));
        Assert.Equal(all.Count, c.Count);
        Assert.Equal(35, c.Count); // spec §3.2: 35 candidates for max_crops 12
        Assert.True(all.SetEquals(c));
        for (int k = 1; k < c.Count; k++)
        {
            var (a, b) = (c[k - 1], c[k]);
            int ka = a.Rows * a.Cols, kb = b.Rows * b.Cols;
            Assert.True(ka < kb || (ka == kb && a.Rows < b.Rows), $"candidate {k - 1} {a} must come before {k} {b}");
        }
        Assert.Equal((1, 1), c[0]);
        Assert.Equal((1, 2), c[1]);
        Assert.Equal((2, 1), c[2]);
    }

    static float Scale((int Rows, int Cols) t, int h, int w) => MathF.Min((float)(t.Rows * 224) / h, (float)(t.Cols * 224) / w);

    /// <summary>
    /// The rule of spec §3.2 as properties of the answer: with some scale ≥ 1, the choice has the smallest scale ≥ 1 and every
    /// earlier candidate is strictly worse (first on ties); otherwise the choice has the largest scale, earlier ones strictly smaller.
    /// </summary>
    [Fact]
    public void ChoiceIsTheFirstBestCandidateInSortOrder()
    {
        var rng = new Random(1234);
        var cands = Tiling.Candidates(12);
        var sizes = new List<(int H, int W)>();
        for (int n = 0; n < 3000; n++) sizes.Add((rng.Next(1, 4000), rng.Next(1, 4000)));
        // Edges: h or w at, below or near the 112-px margin, exact multiples of the window (ties).
        foreach (int a in new[] { 1, 50, 111, 112, 113, 336, 448, 560, 672, 1008, 2800 })
            foreach (int b in new[] { 1, 111, 112, 113, 336, 560, 1456, 2800 })
                sizes.Add((a, b));
        int tiesSeen = 0;
        foreach (var (H, W) in sizes)
        {
            int h = H - 112, w = W - 112;
            var chosen = Tiling.Select(H, W);
            int idx = IndexOf(cands, chosen);
            float s = Scale(chosen, h, w);
            bool anyUp = cands.Any(t => !(Scale(t, h, w) < 1f));
            for (int k = 0; k < cands.Count; k++)
            {
                float sk = Scale(cands[k], h, w);
                if (anyUp)
                {
                    Assert.False(s < 1f, $"{H}×{W}: chose {chosen} with scale {s} < 1 although a scale ≥ 1 exists");
                    if (sk < 1f) continue;
                    if (k < idx) Assert.True(sk > s, $"{H}×{W}: earlier candidate {cands[k]} (scale {sk}) is as good as {chosen} ({s})");
                    else Assert.True(sk >= s, $"{H}×{W}: later candidate {cands[k]} (scale {sk}) beats {chosen} ({s})");
                    if (k > idx && sk == s) tiesSeen++;
                }
                else
                {
                    if (k < idx) Assert.True(sk < s, $"{H}×{W}: earlier candidate {cands[k]} (scale {sk}) is as good as {chosen} ({s})");
                    else Assert.True(sk <= s, $"{H}×{W}: later candidate {cands[k]} (scale {sk}) beats {chosen} ({s})");
                    if (k > idx && sk == s) tiesSeen++;
                }
            }
        }
        Assert.True(tiesSeen > 0, "the sizes should include ties so that the first-on-ties rule is exercised");
    }

    [Fact]
    public void SmallImagesWithNegativeScalesPickOneByOne()
    {
        // h − 112 < 0 makes every scale negative: the largest (least negative) one wins, first on ties.
        var cands = Tiling.Candidates(12);
        foreach (int side in new[] { 1, 20, 100, 111 })
        {
            var chosen = Tiling.Select(side, side);
            float best = cands.Max(t => Scale(t, side - 112, side - 112));
            Assert.Equal(best, Scale(chosen, side - 112, side - 112));
            Assert.Equal(cands.First(t => Scale(t, side - 112, side - 112) == best), chosen);
        }
    }

    [Fact]
    public void ZeroSideUsesInfiniteScale()
    {
        // h = 0: i·224 / 0 = +inf, so only the width limits the scale; must not throw.
        var t = Tiling.Select(112, 900);
        Assert.True(t.Rows >= 1 && t.Cols >= 1 && t.Rows * t.Cols <= 12);
        Assert.Equal((1, 1), Tiling.Select(112, 112)); // every scale is +inf: the first candidate
    }

    [Fact]
    public void RespectsMaxCrops()
    {
        foreach (int max in new[] { 1, 4, 12, 36 })
        {
            var t = Tiling.Select(4000, 3000, max);
            Assert.True(t.Rows * t.Cols <= max);
        }
        Assert.Equal((1, 1), Tiling.Select(5000, 5000, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tiling.Select(100, 100, 0));
    }

    static int IndexOf(IReadOnlyList<(int Rows, int Cols)> list, (int, int) t)
    {
        for (int i = 0; i < list.Count; i++) if (list[i] == t) return i;
        return -1;
    }
}
