using Molmo.Model;
using Molmo.Model.Kernels;
using static TorchSharp.torch;

namespace Molmo.Tests.Model;

/// <summary>
/// The CPU kernel for attention over whole sequences against a float64 softmax(q·kᵀ/√hd)·v: the ViT's shape
/// (bidirectional), a decoder prompt's (causal, GQA, over a KV cache's views), queries after cached positions, query and key
/// counts that are not multiples of its 8-row and 32-key blocks, head widths of 32–128, bf16 and float32; the attention
/// module and a prompt's logits through it and through libtorch; thread splits; and what it refuses.
/// </summary>
public class CpuSequenceAttentionTests
{
    public static TheoryData<int, int, int, int, int, int, bool> Shapes => new()
    {
        // batch, query heads, KV heads, head dim, queries, keys, causal
        { 2, 3, 3, 64, 577, 577, false },   // a ViT layer's shape (16 heads of 64 over 577 positions), fewer heads and crops
        { 3, 2, 2, 32, 9, 33, false },      // one query past a block of 8, one key past a block of 32
        { 1, 4, 4, 96, 40, 100, false },    // three 32-wide tiles of values; queries over a longer key sequence
        { 2, 1, 1, 128, 8, 32, false },     // exactly one block each way
        { 1, 14, 2, 128, 77, 77, true },    // a decoder prompt: 7 query heads per KV head, causal
        { 2, 6, 2, 64, 40, 40, true },
        { 1, 4, 2, 32, 12, 70, true },      // 12 new positions after 58 cached ones (a continued prompt)
        { 1, 2, 1, 32, 16, 41, true },      // a block whose last row sees one key past a 32-key step (position 32 after 25 cached)
    };

    /// <summary>float64 reference: q [B, H, S, hd], k, v [B, KV, L, hd] → [B, S, H·hd]; causal: query i at position L − S + i.</summary>
    static Tensor Reference(Tensor q, Tensor k, Tensor v, bool causal)
    {
        long b = q.shape[0], heads = q.shape[1], s = q.shape[2], hd = q.shape[3], kvHeads = k.shape[1], len = k.shape[2];
        var kr = k.to(ScalarType.Float64).repeat_interleave(heads / kvHeads, 1);
        var vr = v.to(ScalarType.Float64).repeat_interleave(heads / kvHeads, 1);
        var scores = matmul(q.to(ScalarType.Float64), kr.transpose(2, 3)).div(Scalars.Of(Math.Sqrt(hd)));
        if (causal)
        {
            var sees = Scalars.Arange(0, len, ScalarType.Int64).unsqueeze(0).le(Scalars.Arange(len - s, len, ScalarType.Int64).unsqueeze(1));
            scores = scores.masked_fill(sees.logical_not(), Scalars.Of(double.NegativeInfinity));
        }
        return matmul(scores.softmax(-1), vr).transpose(1, 2).reshape(b, s, heads * hd);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MatchesFloat64Attention(int b, int heads, int kvHeads, int hd, int s, int len, bool causal)
    {
        if (!CpuSequenceAttention.IsSupported) return;   // AVX-512 or AVX2; elsewhere this attention stays on libtorch
        using var scope = NewDisposeScope();
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            // q as heads split from a projection [B, S, H·hd] (a transposed view); k and v as views of a cache with room to spare.
            var q = randn(b, s, heads, hd).to(dtype).transpose(1, 2);
            var k = randn(b, kvHeads, len + 5, hd).to(dtype).narrow(2, 0, len);
            var v = randn(b, kvHeads, len + 5, hd).to(dtype).narrow(2, 0, len);
            Assert.True(CpuSequenceAttention.CanRun(q, k, v));
            var got = CpuSequenceAttention.Attend(q, k, v, causal);
            Assert.Equal(ScalarType.Float32, got.dtype);
            Assert.Equal(new long[] { b, s, heads * hd }, got.shape);
            var err = (got.to(ScalarType.Float64) - Reference(q, k, v, causal)).abs().max().item<double>();
            Assert.True(err < 2e-5, $"{dtype}: max error {err}");
        }
    }

    [Fact]
    public void LargeScoresKeepTheSoftmaxExact()
    {
        // Scores of several hundred (e^s alone would overflow: the max is subtracted before exp) and keys that are copies of
        // each other (ties). A seeded case (the worst of 40 seeds tried).
        if (!CpuSequenceAttention.IsSupported) return;
        using var scope = NewDisposeScope();
        using var g = new TorchSharp.torch.Generator(2);
        var q = randn([1, 1, 16, 64], generator: g).mul(Scalars.Of(12));
        var k = randn([1, 1, 48, 64], generator: g).mul(Scalars.Of(12));
        k.narrow(2, 24, 24).copy_(k.narrow(2, 0, 24));
        var v = randn([1, 1, 48, 64], generator: g);
        // A float32 score of magnitude |s| is off by a few of its ulps (~|s|·2⁻²⁴), and so is each weight e^(s − max)
        // relatively: the output by about that times |v|, on top of the usual 2e-5.
        double largest = matmul(q, k.transpose(2, 3)).div(Scalars.Of(8.0)).abs().max().item<float>();
        Assert.True(largest > 200, $"scores of {largest} are not large");
        double bound = 2e-5 + 4 * Math.Pow(2, -24) * largest * v.abs().max().item<float>();
        foreach (bool causal in new[] { false, true })
        {
            var got = CpuSequenceAttention.Attend(q, k, v, causal);
            Assert.False(got.isnan().any().item<bool>());
            var err = (got.to(ScalarType.Float64) - Reference(q, k, v, causal)).abs().max().item<double>();
            Assert.True(err < bound, $"causal {causal}: max error {err} beyond {bound}");
        }
    }

    [Fact]
    public void ThreadSplitDoesNotChangeResults()
    {
        if (!CpuSequenceAttention.IsSupported) return;
        using var scope = NewDisposeScope();
        var q = randn(3, 8, 50, 64).to(ScalarType.BFloat16);
        var k = randn(3, 4, 50, 64).to(ScalarType.BFloat16);
        var v = randn(3, 4, 50, 64).to(ScalarType.BFloat16);
        try
        {
            CpuGemv.ThreadsOfThisThread = 1;
            var one = CpuSequenceAttention.Attend(q, k, v, causal: true);
            CpuGemv.ThreadsOfThisThread = 3;
            Assert.True(CpuSequenceAttention.Attend(q, k, v, causal: true).equal(one).all().item<bool>());
        }
        finally { CpuGemv.ThreadsOfThisThread = 0; }
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

    /// <summary>
    /// A prompt's logits with the decoder's attention through the kernel and through libtorch (over a KV cache, as generation
    /// runs it), for both decoder layouts: the tiny checkpoints' configs widened to heads of 32 (the kernel's smallest) with
    /// random weights; 40 prompt positions, so causal blocks of 8 rows end inside and at the edge of 32-key steps.
    /// </summary>
    [Theory]
    [InlineData("tiny_d_style", ScalarType.Float32, 1e-4)]
    [InlineData("tiny_o_style", ScalarType.Float32, 1e-4)]
    [InlineData("tiny_d_style", ScalarType.BFloat16, 0.1)]   // bf16 activations: the routes round their outputs apart
    public void APromptsLogitsAreTheSameThroughTheKernelOrLibtorch(string variant, ScalarType dtype, double bound)
    {
        if (!CpuSequenceAttention.IsSupported) return;
        using var scope = NewDisposeScope();
        using var model = WidenedRandomModel(variant, dtype);
        var inputs = new ModelInputs(Scalars.Arange(1, 41, ScalarType.Int64).view(1, -1));
        Tensor Logits()
        {
            using var cache = model.NewCache(1, 48);
            using var output = model.Forward(inputs, cache, new ForwardOptions());
            return output.Logits.to(ScalarType.Float32).clone();
        }
        var kernel = Logits();
        CpuSequenceAttention.Enabled = false;
        Tensor library;
        try { library = Logits(); }
        finally { CpuSequenceAttention.Enabled = true; }
        Assert.Equal(new long[] { 1, 40 }, kernel.shape.Take(2).ToArray());
        var err = (kernel - library).abs().max().item<float>();
        Assert.True(err < bound, $"max difference {err}");
        Assert.True(kernel.abs().max().item<float>() > 10 * bound, $"the logits are not all near zero: {kernel.abs().max().item<float>()} (difference {err})");
    }

    /// <summary>
    /// A prompt continued after cached positions (a follow-up question from the prefix cache, a conversation's next turn)
    /// takes the kernel too, with its causal offset: 16 positions over a cache of 24, in both decoder layouts, against
    /// libtorch's SDPA with the offset mask, and against the whole prompt in one piece.
    /// </summary>
    [Theory]
    [InlineData("tiny_d_style", ScalarType.Float32, 1e-4)]
    [InlineData("tiny_o_style", ScalarType.Float32, 1e-4)]
    [InlineData("tiny_d_style", ScalarType.BFloat16, 0.1)]
    public void AContinuedPromptTakesTheKernelAndMatchesLibtorch(string variant, ScalarType dtype, double bound)
    {
        if (!CpuSequenceAttention.IsSupported) return;
        using var scope = NewDisposeScope();
        using var model = WidenedRandomModel(variant, dtype);
        var ids = Scalars.Arange(1, 41, ScalarType.Int64).view(1, -1);
        var all = new ForwardOptions();
        // The continuation's logits, and how many times the kernel ran for it.
        (Tensor Logits, int Calls) Continued()
        {
            using var cache = model.NewCache(1, 48);
            model.Forward(new ModelInputs(ids.narrow(1, 0, 24)), cache, all).Dispose();
            int before = CpuSequenceAttention.CallsOnThisThread;
            using var output = model.Forward(new ModelInputs(ids.narrow(1, 24, 16)), cache, all);
            return (output.Logits.to(ScalarType.Float32).clone(), CpuSequenceAttention.CallsOnThisThread - before);
        }
        var (kernel, calls) = Continued();
        Assert.Equal(model.Config.NumLayers, calls);   // every layer's attention of the continuation ran in the kernel
        CpuSequenceAttention.Enabled = false;
        Tensor library;
        int libraryCalls;
        try { (library, libraryCalls) = Continued(); }
        finally { CpuSequenceAttention.Enabled = true; }
        Assert.Equal(0, libraryCalls);
        var err = (kernel - library).abs().max().item<float>();
        Assert.True(err < bound, $"continued prompt: max difference {err} between the kernel and SDPA");
        using (var cache = model.NewCache(1, 48))
        using (var whole = model.Forward(new ModelInputs(ids), cache, all))
        {
            var wholeErr = (whole.Logits.to(ScalarType.Float32).narrow(1, 24, 16) - kernel).abs().max().item<float>();
            Assert.True(wholeErr < bound, $"continued against whole: max difference {wholeErr}");
        }
        Assert.True(kernel.abs().max().item<float>() > 10 * bound, $"the logits are not all near zero: {kernel.abs().max().item<float>()}");
    }

    /// <summary>A tiny checkpoint's config widened to heads of 32 (the kernel's smallest), with random weights.</summary>
    static MolmoForCausalLM WidenedRandomModel(string variant, ScalarType dtype)
    {
        var config = Molmo.Checkpoints.MolmoConfig.Load(Golden.TinyDir(variant)) with { HiddenSize = 128 };   // 4 heads of 32
        var model = new MolmoForCausalLM(config, new ModelPlacement(dtype, CPU));
        using (no_grad())
            foreach (var p in model.parameters()) p.copy_(randn(p.shape).mul(Scalars.Of(0.3)));
        return model;
    }

    [Fact]
    public void RefusesWhatItDoesNotHandle()
    {
        using var scope = NewDisposeScope();
        var q = randn(2, 4, 40, 64);
        var k = randn(2, 2, 40, 64);
        Assert.Equal(CpuSequenceAttention.IsSupported, CpuSequenceAttention.CanRun(q, k, k));
        Assert.False(CpuSequenceAttention.CanRun(randn(2, 4, 40, 16), randn(2, 2, 40, 16), randn(2, 2, 40, 16)));   // head width 16
        Assert.False(CpuSequenceAttention.CanRun(q, randn(2, 3, 40, 64), randn(2, 3, 40, 64)));   // 4 query heads over 3
        Assert.False(CpuSequenceAttention.CanRun(q.narrow(2, 0, 4), k, k));                       // 4 queries (the pooling's kind)
        Assert.False(CpuSequenceAttention.CanRun(q.narrow(2, 0, 16), k.narrow(2, 0, 16), k.narrow(2, 0, 16)));   // 16 keys
        Assert.False(CpuSequenceAttention.CanRun(q, k.narrow(2, 0, 32), k.narrow(2, 0, 32)));     // more queries than keys
        Assert.False(CpuSequenceAttention.CanRun(q, k, k.to(ScalarType.BFloat16)));               // k and v differ
        Assert.False(CpuSequenceAttention.CanRun(q.to(ScalarType.Float16), k, k));
        Assert.False(CpuSequenceAttention.CanRun(q.transpose(2, 3), k, k.transpose(2, 3)));       // hd not contiguous
        Assert.False(CpuSequenceAttention.CanRun(q, k, k.narrow(3, 0, 32)));                      // widths differ
        Assert.False(CpuSequenceAttention.CanRun(q.clone().requires_grad_(true), k, k));          // autograd needs libtorch's
        var e = Assert.Throws<ArgumentException>(() => CpuSequenceAttention.Attend(q, randn(2, 3, 40, 64), randn(2, 3, 40, 64), causal: true));
        Assert.Contains("H a multiple of KV", e.Message);
    }
}
