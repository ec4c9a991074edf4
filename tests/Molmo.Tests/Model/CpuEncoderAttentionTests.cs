using Molmo.Model;
using Molmo.Model.Kernels;
using static TorchSharp.torch;

namespace Molmo.Tests.Model;

/// <summary>
/// The CPU kernel for the ViT's attention against a float64 softmax(q·kᵀ/√hd)·v: the ViT's own shape, query and key counts
/// that are not multiples of its 8-row and 32-key blocks, queries over other keys, head widths of 32–128, bf16 and float32;
/// the attention module through it and through libtorch; thread splits; and what it refuses.
/// </summary>
public class CpuEncoderAttentionTests
{
    public static TheoryData<int, int, int, int, int> Shapes => new()
    {
        // sequences, heads, head dim, queries, keys
        { 2, 3, 64, 577, 577 },   // a ViT layer's (16 heads of 64 over 577 positions), fewer heads and crops
        { 3, 2, 32, 9, 33 },      // one query past a block of 8, one key past a block of 32
        { 1, 4, 96, 40, 100 },    // three 32-wide tiles of values; queries over a longer key sequence
        { 2, 1, 128, 8, 32 },     // exactly one block each way
    };

    static Tensor Reference(Tensor q, Tensor k, Tensor v, int heads)
    {
        long n = q.shape[0], lq = q.shape[1], lk = k.shape[1], hd = q.shape[2] / heads;
        Tensor Split(Tensor t, long len) => t.to(ScalarType.Float64).view(n, len, heads, hd).transpose(1, 2);
        var scores = matmul(Split(q, lq), Split(k, lk).transpose(2, 3)).div(Scalars.Of(Math.Sqrt(hd)));
        return matmul(scores.softmax(-1), Split(v, lk)).transpose(1, 2).reshape(n, lq, heads * hd);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesFloat64Attention(int n, int heads, int hd, int lq, int lk)
    {
        if (!CpuEncoderAttention.IsSupported) return;   // AVX-512 only; elsewhere this attention stays on libtorch
        using var scope = NewDisposeScope();
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            var q = randn(n, lq, heads * hd).to(dtype);
            var k = randn(n, lk, heads * hd).to(dtype);
            var v = randn(n, lk, heads * hd).to(dtype);
            Assert.True(CpuEncoderAttention.CanRun(q, k, v, heads));
            var got = CpuEncoderAttention.Attend(q, k, v, heads);
            Assert.Equal(ScalarType.Float32, got.dtype);
            Assert.Equal(new long[] { n, lq, heads * hd }, got.shape);
            var err = (got.to(ScalarType.Float64) - Reference(q, k, v, heads)).abs().max().item<double>();
            Assert.True(err < 2e-5, $"{dtype}: max error {err}");
        }
    }

    [Fact]
    public void LargeScoresKeepTheSoftmaxExact()
    {
        // Scores up to ~±300 (the max is subtracted before exp) and keys that are copies of each other (ties).
        if (!CpuEncoderAttention.IsSupported) return;
        using var scope = NewDisposeScope();
        var q = randn(1, 16, 64).mul(Scalars.Of(12));
        var k = randn(1, 48, 64).mul(Scalars.Of(12));
        k.narrow(1, 24, 24).copy_(k.narrow(1, 0, 24));
        var v = randn(1, 48, 64);
        var got = CpuEncoderAttention.Attend(q, k, v, 1);
        Assert.False(got.isnan().any().item<bool>());
        var err = (got.to(ScalarType.Float64) - Reference(q, k, v, 1)).abs().max().item<double>();
        Assert.True(err < 2e-5, $"max error {err}");
    }

    [Fact]
    public void SoftmaxExpIsWithinAnUlpAcrossItsRange()
    {
        // The kernels' own e^x (CpuAttention.Exp; .NET's Vector512.Exp was ten times slower): against double precision over
        // every argument a softmax can see, and at the edges.
        if (!CpuEncoderAttention.IsSupported) return;
        double worst = 0;
        for (double x = -87.3; x < 88.7; x += 0.000917)
        {
            float got = CpuAttention.Exp(System.Runtime.Intrinsics.Vector512.Create((float)x))[0], want = MathF.Exp((float)x);
            worst = Math.Max(worst, Math.Abs(got - Math.Exp((float)x)) / Math.Exp((float)x));
            Assert.True(Math.Abs(got - want) <= 2 * (MathF.BitIncrement(want) - want), $"e^{(float)x}: {got}, not {want}");
        }
        Assert.True(worst < 1.5e-7, $"largest relative error {worst}");
        float At(float x) => CpuAttention.Exp(System.Runtime.Intrinsics.Vector512.Create(x))[0];
        Assert.Equal(1f, At(0f));
        Assert.Equal(0f, At(float.NegativeInfinity));   // masked and padding keys weigh nothing
        Assert.Equal(0f, At(-1000f));
        Assert.True(float.IsNaN(At(float.NaN)));        // a broken score is not hidden
        Assert.True(At(88.7f) > 3e38f);
    }

    [Fact]
    public void ThreadSplitDoesNotChangeResults()
    {
        if (!CpuEncoderAttention.IsSupported) return;
        using var scope = NewDisposeScope();
        var q = randn(3, 50, 4 * 64).to(ScalarType.BFloat16);
        var k = randn(3, 50, 4 * 64).to(ScalarType.BFloat16);
        var v = randn(3, 50, 4 * 64).to(ScalarType.BFloat16);
        int saved = CpuGemv.MaxThreads;
        try
        {
            CpuGemv.MaxThreads = 1;
            var one = CpuEncoderAttention.Attend(q, k, v, 4);
            CpuGemv.MaxThreads = 3;
            Assert.True(CpuEncoderAttention.Attend(q, k, v, 4).equal(one).all().item<bool>());
        }
        finally { CpuGemv.MaxThreads = saved; }
    }

    [Theory]
    [InlineData(ScalarType.Float32, 1e-5)]
    [InlineData(ScalarType.BFloat16, 1e-2)]   // the same float32 attention; its bf16 output may round the other way
    public void TheAttentionModuleGivesTheSameThroughTheKernelOrLibtorch(ScalarType dtype, double bound)
    {
        using var scope = NewDisposeScope();
        using var attention = new MultiHeadDotProductAttention(128, 2, 64, 96, new ModelPlacement(dtype, CPU));
        using (no_grad())
            foreach (var p in attention.parameters()) p.copy_(randn(p.shape).mul(Scalars.Of(0.1)));
        var x = randn(2, 40, 128).to(dtype);
        var kernel = attention.forward(x).to(ScalarType.Float32);
        Linear.UseCpuKernels = false;
        Tensor library;
        try { library = attention.forward(x).to(ScalarType.Float32); }
        finally { Linear.UseCpuKernels = true; }
        Assert.Equal(new long[] { 2, 40, 96 }, kernel.shape);
        var err = (kernel - library).abs().max().item<float>();
        Assert.True(err < bound, $"max difference {err}");
    }

    [Fact]
    public void RefusesWhatItDoesNotHandle()
    {
        using var scope = NewDisposeScope();
        var x = randn(2, 40, 128);
        Assert.Equal(CpuEncoderAttention.IsSupported, CpuEncoderAttention.CanRun(x, x, x, 2));
        Assert.False(CpuEncoderAttention.CanRun(x, x, x, 8));                                   // head width 16
        Assert.False(CpuEncoderAttention.CanRun(x, x, x, 3));                                   // 128 is not 3 heads
        Assert.False(CpuEncoderAttention.CanRun(x.narrow(1, 0, 4), x, x, 2));                   // 4 queries (the pooling's kind)
        Assert.False(CpuEncoderAttention.CanRun(x, x.narrow(1, 0, 16), x.narrow(1, 0, 16), 2)); // 16 keys
        Assert.False(CpuEncoderAttention.CanRun(x, x.to(ScalarType.BFloat16), x, 2));           // mixed dtypes
        Assert.False(CpuEncoderAttention.CanRun(x, x.to(ScalarType.Float16), x.to(ScalarType.Float16), 2));
        Assert.False(CpuEncoderAttention.CanRun(x.transpose(0, 1), x, x, 2));                   // not contiguous
        Assert.False(CpuEncoderAttention.CanRun(x, x.narrow(2, 0, 64), x.narrow(2, 0, 64), 2)); // widths differ
        Assert.False(CpuEncoderAttention.CanRun(x.clone().requires_grad_(true), x, x, 2));      // autograd needs libtorch's
        var e = Assert.Throws<ArgumentException>(() => CpuEncoderAttention.Attend(x, x, x, 8));
        Assert.Contains("hd a multiple of 32", e.Message);
    }
}
