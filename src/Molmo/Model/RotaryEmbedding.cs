using static TorchSharp.torch;

namespace Molmo.Model;

/// <summary>
/// Rotate-half ("llama") rotary embeddings (spec §5.7). The sin/cos table for every position up to
/// max_position_embeddings is computed once in float32; a step only gathers its rows. The sin table is stored with the sign of
/// rotate_half folded in (first half negated), so that applying it is x·cos + swap_halves(x)·sin — the same products and sums
/// as the reference's x·cos + cat(−x₂, x₁)·sin, bit for bit, in fewer ops.
/// </summary>
public sealed class RotaryEmbedding : IDisposable
{
    readonly Tensor _cos, _sin;   // [maxPos, headDim] float32
    public int MaxPositions { get; }
    public int HeadDim { get; }

    public RotaryEmbedding(int headDim, int maxPositions, double theta, Device device)
    {
        HeadDim = headDim; MaxPositions = maxPositions;
        using var scope = NewDisposeScope();
        // inv_freq[k] = 1 / theta^(2k/hd) in float32, angle = p · inv_freq, table = [angle, angle].
        var k = arange(0, headDim, 2, ScalarType.Int64).to(ScalarType.Float32);
        var invFreq = 1.0f / pow(tensor((float)theta), k / headDim);
        var pos = arange(0, maxPositions, ScalarType.Int64).to(ScalarType.Float32);
        var angles = outer(pos, invFreq);
        var emb = cat([angles, angles], -1);
        _cos = emb.cos().to(device).DetachFromDisposeScope();
        var sin = emb.sin();
        _sin = cat([-sin.narrow(1, 0, headDim / 2), sin.narrow(1, headDim / 2, headDim / 2)], 1).to(device).DetachFromDisposeScope();
    }

    /// <summary>cos/sin for one position per batch row (<paramref name="positions"/> [B]) as [B, 1, 1, hd] float32.</summary>
    public (Tensor Cos, Tensor Sin) GatherRows(Tensor positions)
    {
        if (positions.max().item<long>() >= MaxPositions)
            throw new ArgumentOutOfRangeException(nameof(positions), $"a position exceeds the model's {MaxPositions} rotary positions (sequence too long)");
        long b = positions.shape[0];
        return (_cos.index_select(0, positions).view(b, 1, 1, HeadDim), _sin.index_select(0, positions).view(b, 1, 1, HeadDim));
    }

    /// <summary>cos/sin rows for the contiguous positions [start, start+len) as [1, 1, len, hd] float32 (a view, no copy).</summary>
    public (Tensor Cos, Tensor Sin) Slice(long start, long len)
    {
        if (start < 0 || start + len > MaxPositions)
            throw new ArgumentOutOfRangeException(nameof(start),
                $"positions {start}..{start + len - 1} exceed the model's {MaxPositions} rotary positions (sequence too long)");
        return (_cos.narrow(0, start, len).unsqueeze(0).unsqueeze(0), _sin.narrow(0, start, len).unsqueeze(0).unsqueeze(0));
    }

    /// <summary>
    /// <c>x·cos + rotate_half(x)·sin</c> in float32, cast back to x's dtype, with the tables of <see cref="Slice"/> or
    /// <see cref="GatherRows"/> (their sin has rotate_half's sign folded in). x: [..., hd], any layout the tables broadcast over
    /// ([B, H, S, hd] as given, or [B, S, H, hd] with the tables transposed).
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        var xf = x.dtype == ScalarType.Float32 ? x : x.to(ScalarType.Float32);
        var swapped = xf.roll(xf.shape[^1] / 2, -1);    // [x₂, x₁]
        var y = xf * cos + swapped * sin;
        return (y.dtype == x.dtype ? y : y.to(x.dtype)).MoveToOuterDisposeScope();
    }

    public void Dispose() { _cos.Dispose(); _sin.Dispose(); }
}
