using Molmo.Model;
using Molmo.Model.Kernels;
using static TorchSharp.torch;

namespace Molmo.Tests.Model;

/// <summary>
/// The CPU decode-attention kernel against a float64 softmax(q·kᵀ/√hd)·v: GQA groups of 1–8 query heads, key counts that are
/// not multiples of its 4-key blocks, head widths of 32–128, bf16 and float32 caches read through views of a larger cache,
/// padding masks, and every thread split (which must not change a bit); and the e^x both attention kernels' softmax uses.
/// </summary>
public class CpuAttentionTests
{
    public static TheoryData<int, int, int, int, int, bool> Shapes => new()
    {
        // batch, heads, kv heads, head dim, keys, masked
        { 1, 28, 4, 128, 800, false },   // 7B-D at a 640×480 prompt
        { 3, 8, 8, 64, 37, false },      // no GQA
        { 2, 16, 2, 32, 5, true },       // 8 query heads per KV head, a padded row
        { 2, 6, 2, 96, 17, true },
        { 1, 4, 4, 128, 1, false },      // the first decode step over an empty prompt
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesFloat64Attention(int b, int heads, int kvHeads, int hd, int len, bool masked)
    {
        if (!CpuAttention.IsSupported) return;   // AVX-512 or AVX2; elsewhere decode attention stays on libtorch
        using var scope = NewDisposeScope();
        foreach (var cacheType in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            var kc = randn(b, kvHeads, len + 9, hd).to(cacheType);   // a cache with room to spare: k, v are views
            var vc = randn(b, kvHeads, len + 9, hd).to(cacheType);
            var k = kc.narrow(2, 0, len);
            var v = vc.narrow(2, 0, len);
            var q = randn(b, heads, 1, hd).to(cacheType);
            Tensor? mask = null;
            if (masked)
            {
                // Row 0 sees every key, the others a prefix (a shorter request in a batch).
                var lengths = tensor(Enumerable.Range(0, b).Select(i => (long)Math.Max(1, len - 3 * i)).ToArray());
                mask = Scalars.Arange(0, len, ScalarType.Int64).unsqueeze(0).lt(lengths.unsqueeze(1)).view(b, 1, 1, len);
            }
            var got = CpuAttention.Decode(q, k, v, mask);
            Assert.Equal(new long[] { b, 1, heads * hd }, got.shape);
            Assert.Equal(ScalarType.Float32, got.dtype);

            var qd = q.to(ScalarType.Float64).reshape(b, kvHeads, heads / kvHeads, hd);
            var scores = matmul(qd, k.to(ScalarType.Float64).transpose(2, 3)).div(Scalars.Of(Math.Sqrt(hd)));
            if (mask is not null) scores = scores.masked_fill(mask.logical_not(), Scalars.Of(double.NegativeInfinity));
            var want = matmul(scores.softmax(-1), v.to(ScalarType.Float64)).reshape(b, 1, heads * hd);
            var err = (got.to(ScalarType.Float64) - want).abs().max().item<double>();
            Assert.True(err < 2e-5, $"{cacheType}: max error {err}");
        }
    }

    [Theory]
    [InlineData(512)]
    [InlineData(256)]   // the AVX2 route's e^x (2^n built in two factors)
    public void SoftmaxExpIsWithinAnUlpAcrossItsRange(int width)
    {
        // The attention kernels' own e^x (.NET's Vector512.Exp was ten times slower): against double precision over
        // every argument a softmax can see, and at the edges.
        if (width == 512 ? !System.Runtime.Intrinsics.X86.Avx512F.IsSupported
                         : !(System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported)) return;
        float At(float x) => width == 512 ? CpuAttention.Exp(System.Runtime.Intrinsics.Vector512.Create(x))[0]
                                          : CpuAttention.Exp(System.Runtime.Intrinsics.Vector256.Create(x))[7];
        double worst = 0;
        for (double x = -87.3; x < 88.7; x += 0.000917)
        {
            float got = At((float)x), want = MathF.Exp((float)x);
            worst = Math.Max(worst, Math.Abs(got - Math.Exp((float)x)) / Math.Exp((float)x));
            Assert.True(Math.Abs(got - want) <= 2 * (MathF.BitIncrement(want) - want), $"e^{(float)x}: {got}, not {want}");
        }
        Assert.True(worst < 1.5e-7, $"largest relative error {worst}");
        Assert.Equal(1f, At(0f));
        Assert.Equal(0f, At(float.NegativeInfinity));   // masked and padding keys weigh nothing
        Assert.Equal(0f, At(-1000f));
        Assert.True(float.IsNaN(At(float.NaN)));        // a broken score is not hidden
        Assert.True(At(88.7f) > 3e38f);
        Assert.Equal(MathF.Exp(-87f), At(-87f), 1e-44f);      // near the smallest normal float
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    public void ARowOfABatchEqualsTheRowAloneBitForBit(ScalarType cacheType)
    {
        // A batched decode step: rows of different lengths in one cache, the shorter ones masked past their end. Each row's
        // output must be the bits it gets alone, over only its own keys and with no mask (what batched decoding promises).
        if (!CpuAttention.IsSupported) return;
        using var scope = NewDisposeScope();
        int[] lengths = [803, 1, 37, 798];   // 7B-D's heads; lengths that are and are not multiples of the 4-key blocks
        int b = lengths.Length, longest = lengths.Max();
        var q = randn(b, 28, 1, 128).to(cacheType);
        var k = randn(b, 4, longest + 5, 128).to(cacheType);
        var v = randn(b, 4, longest + 5, 128).to(cacheType);
        var mask = Scalars.Arange(0, longest, ScalarType.Int64).unsqueeze(0)
            .lt(tensor(lengths.Select(l => (long)l).ToArray()).unsqueeze(1)).view(b, 1, 1, longest);
        var all = CpuAttention.Decode(q, k.narrow(2, 0, longest), v.narrow(2, 0, longest), mask);
        for (int i = 0; i < b; i++)
        {
            var alone = CpuAttention.Decode(q.narrow(0, i, 1), k.narrow(0, i, 1).narrow(2, 0, lengths[i]), v.narrow(0, i, 1).narrow(2, 0, lengths[i]), null);
            Assert.True(alone.eq(all.narrow(0, i, 1)).all().item<bool>(), $"{cacheType}: row {i} ({lengths[i]} keys)");
        }
    }

    [Fact]
    public void ThreadSplitDoesNotChangeResults()
    {
        if (!CpuAttention.IsSupported) return;
        using var scope = NewDisposeScope();
        var q = randn(3, 28, 1, 128);
        var k = randn(3, 4, 50, 128).to(ScalarType.BFloat16);
        var v = randn(3, 4, 50, 128).to(ScalarType.BFloat16);
        try
        {
            CpuGemv.ThreadsOfThisThread = 1;
            var one = CpuAttention.Decode(q, k, v, null);
            CpuGemv.ThreadsOfThisThread = 3;
            Assert.True(CpuAttention.Decode(q, k, v, null).equal(one).all().item<bool>());
        }
        finally { CpuGemv.ThreadsOfThisThread = 0; }
    }

    [Fact]
    public void DecodeAttentionUsesTheKernelOrLibtorchToTheSameResult()
    {
        using var scope = NewDisposeScope();
        var q = randn(2, 14, 1, 64).to(ScalarType.BFloat16);
        var k = randn(2, 2, 30, 64).to(ScalarType.BFloat16);
        var v = randn(2, 2, 30, 64).to(ScalarType.BFloat16);
        var mask = Scalars.Arange(0, 30, ScalarType.Int64).unsqueeze(0).lt(tensor(new long[] { 30, 11 }).unsqueeze(1)).view(2, 1, 1, 30);
        var kernel = DecoderBlock.DecodeAttention(q, k, v, mask).to(ScalarType.Float32);
        Linear.UseCpuKernels = false;
        Tensor library;
        try { library = DecoderBlock.DecodeAttention(q, k, v, mask).to(ScalarType.Float32); }
        finally { Linear.UseCpuKernels = true; }
        Assert.True((kernel - library).abs().max().item<float>() < 1e-5);
    }

    /// <summary>
    /// The libtorch decode attention that a GPU runs, in the cache's dtype (bf16 softmax included), on the views the decoder
    /// gives it: q a transposed slice of the rotated [B, 1, H + KV, hd] projection, k and v slices of a larger cache, and a
    /// mask for rows of different lengths.
    /// </summary>
    [Theory]
    [InlineData(ScalarType.Float32, 2e-5)]
    [InlineData(ScalarType.BFloat16, 5e-2)]   // bf16 scores (up to ~4: a rounding of up to 0.016) and probabilities
    public void GroupedAttentionOfOnePositionMatchesFloat64(ScalarType dtype, double tolerance)
    {
        using var scope = NewDisposeScope();
        const int b = 3, heads = 12, kvHeads = 4, hd = 32, len = 21;
        using var g = new TorchSharp.torch.Generator(20261126);   // its own seeded generator: the same inputs every run
        var qk = randn([b, 1, heads + kvHeads, hd], generator: g).to(dtype);
        var q = qk.narrow(2, 0, heads).transpose(1, 2);                                  // [B, H, 1, hd], not contiguous
        var k = randn([b, kvHeads, len + 6, hd], generator: g).to(dtype).narrow(2, 0, len);
        var v = randn([b, kvHeads, len + 6, hd], generator: g).to(dtype).narrow(2, 0, len);
        foreach (var mask in new Tensor?[] { null, Scalars.Arange(0, len, ScalarType.Int64).unsqueeze(0).lt(tensor(new long[] { len, 9, 1 }).unsqueeze(1)).view(b, 1, 1, len) })
        {
            var got = DecoderBlock.GroupedAttention(q, k, v, mask);
            Assert.Equal(new long[] { b, 1, heads * hd }, got.shape);
            Assert.Equal(dtype, got.dtype);
            var qd = q.to(ScalarType.Float64).reshape(b, kvHeads, heads / kvHeads, hd);
            var scores = matmul(qd, k.to(ScalarType.Float64).transpose(2, 3)).div(Scalars.Of(Math.Sqrt(hd)));
            if (mask is not null) scores = scores.masked_fill(mask.logical_not(), Scalars.Of(double.NegativeInfinity));
            var want = matmul(scores.softmax(-1), v.to(ScalarType.Float64)).reshape(b, 1, heads * hd);
            var err = (got.to(ScalarType.Float64) - want).abs().max().item<double>();
            Assert.True(err < tolerance, $"{dtype}, {(mask is null ? "no mask" : "masked")}: max error {err}");
        }
    }

    [Fact]
    public void RejectsWhatItDoesNotHandle()
    {
        if (!CpuAttention.IsSupported) return;
        using var scope = NewDisposeScope();
        var q = randn(1, 18, 1, 64);
        Assert.Contains("not handled", Assert.Throws<ArgumentException>(() => CpuAttention.Decode(q, randn(1, 2, 5, 64), randn(1, 2, 5, 64), null)).Message);
        Assert.Contains("bf16 or float32", Assert.Throws<ArgumentException>(() =>
            CpuAttention.Decode(randn(1, 4, 1, 64), randn(1, 4, 5, 64).to(ScalarType.Float64), randn(1, 4, 5, 64).to(ScalarType.Float64), null)).Message);
        Assert.Contains("do not match", Assert.Throws<ArgumentException>(() => CpuAttention.Decode(randn(1, 4, 1, 64), randn(1, 4, 5, 64), randn(1, 4, 6, 64), null)).Message);
        Assert.Contains("contiguous", Assert.Throws<ArgumentException>(() =>
            CpuAttention.Decode(randn(1, 4, 1, 64), randn(1, 4, 64, 5).transpose(2, 3), randn(1, 4, 5, 64), null)).Message);
        // What the decoder checks before choosing the kernel: a cache view qualifies, a transposed or float64 one does not.
        var cache = randn(1, 4, 9, 64).to(ScalarType.BFloat16);
        Assert.True(CpuAttention.CanRun(randn(1, 4, 1, 64), cache.narrow(2, 0, 5), cache.narrow(2, 0, 5)));
        Assert.False(CpuAttention.CanRun(randn(1, 4, 1, 64), randn(1, 4, 64, 5).transpose(2, 3), randn(1, 4, 5, 64)));
        Assert.False(CpuAttention.CanRun(randn(1, 4, 1, 64), randn(1, 4, 5, 64, ScalarType.Float64), randn(1, 4, 5, 64, ScalarType.Float64)));
        Assert.False(CpuAttention.CanRun(q, randn(1, 2, 5, 64), randn(1, 2, 5, 64)));   // 9 query heads per KV head
    }
}
