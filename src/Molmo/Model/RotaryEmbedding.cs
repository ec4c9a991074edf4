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
        var k = Runtime.Scalars.Arange(0, headDim, ScalarType.Int64, step: 2).to(ScalarType.Float32);
        var invFreq = pow(tensor((float)theta), k.div(Runtime.Scalars.Of(headDim))).reciprocal();
        var pos = Runtime.Scalars.Arange(0, maxPositions, ScalarType.Int64).to(ScalarType.Float32);
        var angles = outer(pos, invFreq);
        var emb = cat([angles, angles], -1);
        _cos = emb.cos().to(device).DetachFromDisposeScope();
        var sin = emb.sin();
        _sin = cat([-sin.narrow(1, 0, headDim / 2), sin.narrow(1, headDim / 2, headDim / 2)], 1).to(device).DetachFromDisposeScope();
    }

    /// <summary>
    /// cos/sin for one position per batch row (<paramref name="positions"/> [B], whose largest value the caller knows:
    /// <paramref name="maxPosition"/>, so that no device sync is needed to check it) as [B, 1, 1, hd] float32.
    /// </summary>
    public (Tensor Cos, Tensor Sin) GatherRows(Tensor positions, long maxPosition)
    {
        if (maxPosition >= MaxPositions)
            throw new ArgumentOutOfRangeException(nameof(positions), $"position {maxPosition} exceeds the model's {MaxPositions} rotary positions (sequence too long)");
        long b = positions.shape[0];
        return (_cos.index_select(0, positions).view(b, 1, 1, HeadDim), _sin.index_select(0, positions).view(b, 1, 1, HeadDim));
    }

    /// <summary>
    /// cos/sin rows for the contiguous positions [start, start+len) as [1, len, 1, hd] float32 (a view, no copy): the layout
    /// of q and k as [B, S, heads, hd].
    /// </summary>
    public (Tensor Cos, Tensor Sin) Slice(long start, long len)
    {
        if (start < 0 || start + len > MaxPositions)
            throw new ArgumentOutOfRangeException(nameof(start),
                $"positions {start}..{start + len - 1} exceed the model's {MaxPositions} rotary positions (sequence too long)");
        return (_cos.narrow(0, start, len).view(1, len, 1, HeadDim), _sin.narrow(0, start, len).view(1, len, 1, HeadDim));
    }

    /// <summary>
    /// <c>x·cos + rotate_half(x)·sin</c> in float32, cast back to x's dtype, with the tables of <see cref="Slice"/> or
    /// <see cref="GatherRows"/> (their sin has rotate_half's sign folded in). x: [..., hd] in a layout the tables broadcast
    /// over ([B, S, heads, hd]). Bit for bit the reference's products and sum, by either of two routes (see the overload).
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin) => Apply(x, cos, sin, widenFirst: x.device_type == TorchSharp.DeviceType.CPU);

    /// <summary>
    /// With <paramref name="widenFirst"/>, a bf16 x is converted to float32 first (on the CPU, where libtorch's elementwise ops
    /// on mixed dtypes take a scalar path: twice the time of converting first). Without it (a GPU, where a step is bound by
    /// the number of ops) the halves are swapped in x's own dtype (a permutation, exact) and bf16 x times a float32 table is
    /// computed in float32 on the exactly widened values: one op fewer, the same values. (addcmul would save one more, but
    /// libtorch may fuse its multiply-add, which rounds once instead of twice.)
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin, bool widenFirst)
    {
        using var scope = NewDisposeScope();
        var xw = widenFirst && x.dtype != ScalarType.Float32 ? x.to(ScalarType.Float32) : x;
        var swapped = xw.roll(xw.shape[^1] / 2, -1);     // [x₂, x₁]
        var y = (xw * cos).add_(swapped * sin, Runtime.Scalars.One);
        return (y.dtype == x.dtype ? y : y.to(x.dtype)).MoveToOuterDisposeScope();
    }

    public void Dispose() { _cos.Dispose(); _sin.Dispose(); }
}
