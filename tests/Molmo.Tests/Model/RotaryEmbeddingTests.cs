using Molmo.Model;
using static TorchSharp.torch;

namespace Molmo.Tests.Model;

/// <summary>
/// The rotary embedding against the reference formula written out (x·cos + cat(−x₂, x₁)·sin with the plain tables), bit for
/// bit: in the [B, S, H, hd] layout the decoder uses, on a view into a wider projection (as q and k are), for gathered
/// rows, and in bf16.
/// </summary>
public class RotaryEmbeddingTests
{
    const int Hd = 16, MaxPos = 64;
    const double Theta = 1_000_000;

    static (Tensor Cos, Tensor Sin) ReferenceTables()
    {
        var k = Scalars.Arange(0, Hd, ScalarType.Int64, step: 2).to(ScalarType.Float32);
        var invFreq = ones(1).div(pow(tensor((float)Theta), k.div(Scalars.Of(Hd))));   // 1 / theta^(2k/hd)
        var angles = outer(Scalars.Arange(0, MaxPos, ScalarType.Int64).to(ScalarType.Float32), invFreq);
        var emb = cat([angles, angles], -1);
        return (emb.cos(), emb.sin());
    }

    static Tensor Reference(Tensor x, Tensor cos, Tensor sin)
    {
        var xf = x.to(ScalarType.Float32);
        var h = xf.chunk(2, -1);
        return (xf * cos).add(cat([-h[1], h[0]], -1) * sin, Scalars.One).to(x.dtype);
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    public void MatchesTheReferenceFormulaBitForBit(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        using var rope = new RotaryEmbedding(Hd, MaxPos, Theta, CPU);
        var (rc, rs) = ReferenceTables();
        var x = randn(2, 5, 3, Hd).to(dtype);                       // [B, S, H, hd] at positions 7..11
        var (cos, sin) = rope.Slice(7, 5);
        var want = Reference(x, rc.narrow(0, 7, 5).view(1, 5, 1, Hd), rs.narrow(0, 7, 5).view(1, 5, 1, Hd));
        Assert.True(RotaryEmbedding.Apply(x, cos, sin).equal(want).all().item<bool>());
        // Both routes (widening first, as on the CPU; mixed-dtype ops, as on a GPU) give the same bits.
        Assert.True(RotaryEmbedding.Apply(x, cos, sin, widenFirst: false).equal(want).all().item<bool>());
        Assert.True(RotaryEmbedding.Apply(x, cos, sin, widenFirst: true).equal(want).all().item<bool>());

        var xv = randn(2, 5, 4 * Hd).to(dtype).narrow(-1, Hd, 3 * Hd).view(2, 5, 3, Hd);   // a view into a wider projection
        Assert.True(RotaryEmbedding.Apply(xv, cos, sin).equal(Reference(xv, rc.narrow(0, 7, 5).view(1, 5, 1, Hd), rs.narrow(0, 7, 5).view(1, 5, 1, Hd))).all().item<bool>());

        var pos = tensor(new long[] { 3, 40 });                     // one position per row
        var (gc, gs) = rope.GatherRows(pos, 40);
        var x1 = randn(2, 3, 1, Hd).to(dtype);
        var want1 = Reference(x1, rc.index_select(0, pos).view(2, 1, 1, Hd), rs.index_select(0, pos).view(2, 1, 1, Hd));
        Assert.True(RotaryEmbedding.Apply(x1, gc, gs).equal(want1).all().item<bool>());
    }

    [Fact]
    public void PositionsBeyondTheTableAreRefused()
    {
        using var rope = new RotaryEmbedding(Hd, MaxPos, Theta, CPU);
        Assert.Throws<ArgumentOutOfRangeException>(() => rope.Slice(60, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => rope.GatherRows(tensor(new long[] { 64 }), 64));
    }
}
