using Molmo.Model;
using static TorchSharp.torch;

namespace Molmo.Tests.Model;

/// <summary>The KV cache: rows of different lengths written at their own positions, the per-step position tensor made once
/// per step (not once per layer), and a clear error when full.</summary>
public class KvCacheTests
{
    [Fact]
    public void RowsOfDifferentLengthsAreWrittenAtTheirOwnPositions()
    {
        using var scope = NewDisposeScope();
        using var cache = new KvCache(layers: 2, batch: 3, kvHeads: 2, capacity: 8, headDim: 4, ScalarType.Float32, CPU);
        cache.SetRowLength(0, 5); cache.SetRowLength(1, 2); cache.SetRowLength(2, 0);
        var k = Scalars.Arange(1, 3 * 2 * 4 + 1, ScalarType.Float32).view(3, 2, 1, 4);
        var (kc, vc) = cache.Append(1, k, -k);
        Assert.Equal(new long[] { 3, 2, 6, 4 }, kc.shape);   // up to the longest row, including the new position
        foreach (var (row, pos) in new[] { (0, 5), (1, 2), (2, 0) })
        {
            Assert.True(kc[row, .., pos].equal(k[row, .., 0]).all().item<bool>());
            Assert.True(vc[row, .., pos].equal(-k[row, .., 0]).all().item<bool>());
        }
        Assert.Equal(0, kc[1, .., 3].abs().sum().item<float>());   // past row 1's new position: untouched
        cache.Advance(1);
        Assert.Equal([6, 3, 1], cache.RowLengths);
    }

    [Fact]
    public void ThePositionTensorIsMadeOncePerStep()
    {
        using var cache = new KvCache(1, 2, 1, 8, 4, ScalarType.Float32, CPU);
        cache.SetRowLength(0, 3);
        var first = cache.RowPositions(CPU);
        Assert.Same(first, cache.RowPositions(CPU));          // every layer of a step gets the same tensor
        Assert.Equal([3L, 0L], first.data<long>().ToArray());
        cache.Advance(1);
        var next = cache.RowPositions(CPU);
        Assert.NotSame(first, next);
        Assert.Equal([4L, 1L], next.data<long>().ToArray());
    }

    [Fact]
    public void AFullCacheSaysSo()
    {
        using var scope = NewDisposeScope();
        using var cache = new KvCache(1, 1, 1, 4, 2, ScalarType.Float32, CPU);
        cache.Append(0, zeros(1, 1, 4, 2), zeros(1, 1, 4, 2));
        cache.Advance(4);
        var e = Assert.Throws<InvalidOperationException>(() => cache.Append(0, zeros(1, 1, 1, 2), zeros(1, 1, 1, 2)));
        Assert.Contains("full (4 positions)", e.Message);
    }
}
