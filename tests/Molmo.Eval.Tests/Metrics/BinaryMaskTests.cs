using Molmo.Eval.Metrics;

namespace Molmo.Eval.Tests.Metrics;

public class BinaryMaskTests
{
    /// <summary>Our own encoder of COCO's compressed RLE string, the inverse of the format described in the decoder.</summary>
    static string Compress(IReadOnlyList<long> counts)
    {
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < counts.Count; i++)
        {
            long x = counts[i];
            if (i > 2) x -= counts[i - 2];
            bool more = true;
            while (more)
            {
                long c = x & 0x1f;
                x >>= 5;
                more = (c & 0x10) != 0 ? x != -1 : x != 0;
                if (more) c |= 0x20;
                sb.Append((char)(c + 48));
            }
        }
        return sb.ToString();
    }

    [Fact]
    public void Rle_is_column_major()
    {
        // 2 rows × 3 columns; runs: 1 unset, 2 set, 3 unset → pixels k=1,2 set → (row 1, col 0), (row 0, col 1).
        var m = BinaryMask.FromCocoRle(2, 3, [1L, 2, 3]);
        Assert.True(m.Contains(0, 1));
        Assert.True(m.Contains(1, 0));
        Assert.False(m.Contains(0, 0));
        Assert.Equal(2, m.Area);
    }

    [Fact]
    public void Compressed_rle_round_trips_random_masks()
    {
        var rng = new Random(7);
        for (int t = 0; t < 50; t++)
        {
            int h = rng.Next(1, 40), w = rng.Next(1, 40);
            var runs = new List<long>();
            long left = (long)h * w;
            while (left > 0) { long r = Math.Min(left, rng.Next(0, 60)); runs.Add(r); left -= r; }
            var a = BinaryMask.FromCocoRle(h, w, runs);
            var b = BinaryMask.FromCocoRle(h, w, Compress(runs));
            for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) Assert.Equal(a.Contains(x, y), b.Contains(x, y));
        }
    }

    [Fact]
    public void Bad_rle_is_rejected()
    {
        Assert.Throws<InvalidDataException>(() => BinaryMask.FromCocoRle(2, 2, [1L, 2]));   // covers 3 of 4
        Assert.Throws<InvalidDataException>(() => BinaryMask.FromCocoRle(2, 2, [3L, 3]));   // too many
        Assert.Throws<InvalidDataException>(() => BinaryMask.FromCocoRle(2, 2, "\u00ff"));
    }

    [Fact]
    public void Rows_and_bounds()
    {
        var m = BinaryMask.FromRows([[true, false], [false, true]]);
        Assert.True(m.Contains(1, 1));
        Assert.False(m.Contains(2, 1));
        Assert.False(m.Contains(-1, 0));
        Assert.Throws<ArgumentException>(() => BinaryMask.FromRows([[true], [true, false]]));
    }
}
