using Molmo.Checkpoints;
using Molmo.Generation;
using Molmo.Model;
using Molmo.Model.Kernels;
using static TorchSharp.torch;

namespace Molmo.Tests.Model;

/// <summary>
/// The CPU decode kernels against a float64 product of the same (dequantised) weights, on shapes that reach every code path:
/// widths with and without vector tails, the one-row and the four-rows-per-x-load paths (x wider than 24 KB), row counts that
/// are not multiples of the block, 1–64 input rows (batched steps: 4 × 4 register blocks, partial blocks of 1–3 input rows and
/// the leftover weight rows), bias, and every thread split (which must not change a single bit).
/// </summary>
public class CpuGemvTests
{
    public static TheoryData<int, int, int> Shapes => new()
    {
        { 77, 100, 1 }, { 19, 1001, 1 }, { 50, 129, 2 }, { 256, 3584, 1 }, { 13, 6200, 1 }, { 13, 6200, 3 }, { 9, 8225, 8 }, { 130, 64, 5 },
        { 67, 200, 4 }, { 70, 47, 7 }, { 41, 515, 16 }, { 23, 1000, 33 }, { 6, 31, 64 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Bf16KernelMatchesFloat64Product(int n, int k, int m)
    {
        using var scope = NewDisposeScope();
        var w = randn(n, k).to(ScalarType.BFloat16);
        var bias = randn(n);
        var x = randn(m, k);
        var got = CpuGemv.LinearBf16(x, w, bias);
        var want = nn.functional.linear(x.to(ScalarType.Float64), w.to(ScalarType.Float64), bias.to(ScalarType.Float64));
        AssertClose(want, got, k);
        // bf16 activations in, bf16 out (what a bf16 model passes), still within one bf16 rounding of the product.
        var gotB = CpuGemv.LinearBf16(x.to(ScalarType.BFloat16), w, null);
        Assert.Equal(ScalarType.BFloat16, gotB.dtype);
        var wantB = nn.functional.linear(x.to(ScalarType.BFloat16).to(ScalarType.Float64), w.to(ScalarType.Float64));
        Assert.True(((gotB.to(ScalarType.Float64) - wantB).abs() - wantB.abs().mul(Scalars.Of(1.0 / 128))).max().item<double>() <= 1e-3);
    }

    /// <summary>
    /// The kernel reads float32 and bf16 x where they lie and writes bf16 output itself: the same values as converting around
    /// it with libtorch (x widened exactly, the float32 result rounded to nearest even), for any layout of x.
    /// </summary>
    [Theory]
    [InlineData(203, 3584, 1)]
    [InlineData(37, 6300, 1)]     // the four-row path (x wider than L1)
    [InlineData(45, 1001, 6)]     // a batched step
    public void Bf16InputAndOutputAreLibtorchsConversions(int n, int k, int m)
    {
        using var scope = NewDisposeScope();
        var w = randn(n, k).to(ScalarType.BFloat16);
        var bias = randn(n).to(ScalarType.BFloat16);
        var x = randn(m, k).to(ScalarType.BFloat16);
        var viaFloat32 = CpuGemv.LinearBf16(x.to(ScalarType.Float32), w, bias.to(ScalarType.Float32));
        Assert.Equal(ScalarType.Float32, viaFloat32.dtype);
        var got = CpuGemv.LinearBf16(x, w, bias);
        Assert.Equal(ScalarType.BFloat16, got.dtype);
        AssertSameValues(viaFloat32.to(ScalarType.BFloat16), got);
        // x as a strided view (not contiguous) and as float16 (converted by libtorch; float16 out).
        var strided = stack([x, x], -1).select(-1, 0);     // [m, k] with stride 2 along k
        Assert.False(strided.is_contiguous());
        AssertSameValues(got, CpuGemv.LinearBf16(strided, w, bias));
        // The benchmarks' baseline (libtorch converting around the kernel) gives the same values.
        CpuGemv.LibtorchConversions = true;
        try { AssertSameValues(got, CpuGemv.LinearBf16(x, w, bias)); }
        finally { CpuGemv.LibtorchConversions = false; }
        var half = CpuGemv.LinearBf16(x.to(ScalarType.Float16), w, bias);
        Assert.Equal(ScalarType.Float16, half.dtype);
        AssertSameValues(viaFloat32.to(ScalarType.Float16), half);
    }

    /// <summary>y = 0·x + bias: the kernel's rounding of float32 to bf16 against libtorch's, on ties, NaN, infinities,
    /// overflow, signed zeros and subnormals, in the vector loop and its tail.</summary>
    [Fact]
    public void Bf16OutputRoundsAsLibtorch()
    {
        using var scope = NewDisposeScope();
        const int n = 1037, k = 64;
        var values = randn(n).mul(Scalars.Of(1000)).data<float>().ToArray();
        float[] special = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 1f + MathF.Pow(2, -8), 1f + 3 * MathF.Pow(2, -8),
                           -(1f + MathF.Pow(2, -8)), float.MaxValue, -float.MaxValue, 1e-40f, -1e-40f, float.Epsilon, BitConverter.UInt32BitsToSingle(0x7F800001),
                           BitConverter.UInt32BitsToSingle(0x7FFFFFFF), BitConverter.UInt32BitsToSingle(0xFFFFFFFF)];
        for (int i = 0; i < special.Length; i++) { values[i] = special[i]; values[n - 1 - i] = special[i]; }
        var bias = tensor(values);
        var got = CpuGemv.LinearBf16(zeros(1, k, ScalarType.BFloat16), zeros(n, k, ScalarType.BFloat16), bias);
        AssertSameValues(bias.to(ScalarType.BFloat16).unsqueeze(0), got);
    }

    /// <summary>Equal values in the same dtype (compared exactly in float32; NaN where the other is NaN).</summary>
    static void AssertSameValues(Tensor want, Tensor got)
    {
        Assert.Equal(want.dtype, got.dtype);
        Assert.Equal(want.shape, got.shape);
        var a = want.to(ScalarType.Float32).contiguous().data<float>().ToArray();
        var b = got.to(ScalarType.Float32).contiguous().data<float>().ToArray();
        for (int i = 0; i < a.Length; i++)
            if (!(a[i] == b[i] || (float.IsNaN(a[i]) && float.IsNaN(b[i]))))
                Assert.Fail($"element {i}: {b[i]:R}, libtorch's conversion gives {a[i]:R}");
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Int8KernelMatchesFloat64Product(int n, int k, int m)
    {
        using var scope = NewDisposeScope();
        var (q, s) = Int8Quantizer.Quantize(randn(n, k));
        var bias = randn(n);
        var x = randn(m, k);
        var got = CpuGemv.LinearInt8(x, q, s, bias);
        var w = q.to(ScalarType.Float64) * s.to(ScalarType.Float64).unsqueeze(1);
        var want = nn.functional.linear(x.to(ScalarType.Float64), w, bias.to(ScalarType.Float64));
        AssertWithinInt16Bound(want, got, x, q, s);
        // The float-product path (machines without AVX-512, and the benchmark's baseline): float32 accuracy.
        CpuGemv.Int8FloatProducts = true;
        try { AssertClose(want, CpuGemv.LinearInt8(x, q, s, bias), k); }
        finally { CpuGemv.Int8FloatProducts = false; }
    }

    [Fact]
    public void Int8KernelHoldsItsBoundOnRandomShapes()
    {
        // Widths from 1 column (no vector at all) past several 256-column blocks with every kind of tail, 1–64 rows, 1–70
        // weight rows; seeded, so a failure names a shape that can be rerun.
        var rng = new Random(5);
        for (int trial = 0; trial < 40; trial++)
        {
            using var scope = NewDisposeScope();
            int n = rng.Next(1, 71), k = trial < 4 ? trial + 1 : rng.Next(1, 1300), m = rng.Next(1, CpuGemv.MaxRows + 1);
            var (q, s) = Int8Quantizer.Quantize(randn(n, k));
            using var spread = Scalars.New(1 + 10 * rng.NextDouble());
            var x = randn(m, k).mul(spread);
            var want = nn.functional.linear(x.to(ScalarType.Float64), q.to(ScalarType.Float64) * s.to(ScalarType.Float64).unsqueeze(1));
            var got = CpuGemv.LinearInt8(x, q, s, null);
            Assert.True(got.shape.SequenceEqual(new long[] { m, n }), $"n={n} k={k} m={m}");
            AssertWithinInt16Bound(want, got, x, q, s);
        }
    }

    [Fact]
    public void Int8KernelKeepsAnOutliersRoundingInItsOwnBlock()
    {
        using var scope = NewDisposeScope();
        int k = 1000;
        var x = randn(3, k);
        x[1, 7] = tensor(1e4f);                    // x is rounded per block of 256 columns: only block 0 of row 1 gets coarse
        var (q, s) = Int8Quantizer.Quantize(randn(40, k));
        q[TensorIndex.Slice(0, 20), TensorIndex.Slice(0, CpuGemv.QBlock)] = tensor((sbyte)0);   // rows 0–19 ignore that block
        var got = CpuGemv.LinearInt8(x, q, s, null);
        var want = nn.functional.linear(x.to(ScalarType.Float64), q.to(ScalarType.Float64) * s.to(ScalarType.Float64).unsqueeze(1));
        AssertWithinInt16Bound(want, got, x, q, s);
        var err = (got.to(ScalarType.Float64) - want).abs();
        double skip = err[1, TensorIndex.Slice(0, 20)].max().item<double>(), plain = err[0, TensorIndex.Slice(0, 20)].max().item<double>();
        Assert.True(skip < 1e-2, $"rows that skip the outlier's block keep the precision of a row without it: {skip} (without: {plain})");
        // NaN in x makes its row's outputs NaN, and an infinity makes the outputs that use it non-finite (NaN where x is
        // rounded to 16 bits, as its block's scale is infinite; ±infinity, or NaN where a weight is 0, with float products
        // as on CPUs without AVX2), never a finite number. Both product paths; the other rows stay finite.
        x[2, 500] = tensor(float.NaN);
        x[0, 10] = tensor(float.PositiveInfinity);
        foreach (bool floatProducts in new[] { false, true })
        {
            CpuGemv.Int8FloatProducts = floatProducts;
            try
            {
                var bad = CpuGemv.LinearInt8(x, q, s, null);
                Assert.True(bad[2].isnan().all().item<bool>(), $"NaN in x, float products {floatProducts}");
                var usesInfinity = bad[0, TensorIndex.Slice(20, 40)];
                if (!floatProducts && (System.Runtime.Intrinsics.X86.Avx512BW.IsSupported || System.Runtime.Intrinsics.X86.Avx2.IsSupported))   // the 16-bit route: NaN, as before
                    Assert.True(usesInfinity.isnan().all().item<bool>(), "infinity in x, 16-bit x");
                else
                    Assert.False(usesInfinity.isfinite().any().item<bool>(), "infinity in x, float products");
                Assert.True(bad[1].isfinite().all().item<bool>(), $"a finite row, float products {floatProducts}");
            }
            finally { CpuGemv.Int8FloatProducts = false; }
        }
    }

    [Theory]
    [InlineData(37, 300)]
    [InlineData(21, 13001)]     // x too wide for L1 as 16-bit integers: a single row goes through the 4-row blocks too
    public void Int8RowsOfABatchEqualTheRowAloneBitForBit(int n, int k)
    {
        // Batched decoding must give each request what it would get alone: the 4 × 4 blocks and the one-row loop sum the same
        // integers in the same lanes and scale them in the same order.
        using var scope = NewDisposeScope();
        var (q, s) = Int8Quantizer.Quantize(randn(n, k));
        var bias = randn(n);
        AssertRowsOfABatchEqualTheRowAlone(k, x => CpuGemv.LinearInt8(x, q, s, bias));
    }

    [Theory]
    [InlineData(37, 300)]       // rows short of a block of four (alone) and of two (batched); 12 columns past the last 16
    [InlineData(40, 3584)]      // 7B-D's width: no tail
    [InlineData(21, 6217)]      // x too wide for L1: four rows at a time alone, as before; an odd width
    [InlineData(6, 24)]         // one step of 8 pairs and a tail of 8 columns
    public void Bf16AndFloat32RowsOfABatchEqualTheRowAloneBitForBit(int n, int k)
    {
        // Where the single rows take the batched blocks' arithmetic (AVX2 without AVX-512), a request gets the same bits
        // alone or batched: bf16 with float32 and with bf16 x (which the kernel reads as pairs itself), and float32 weights.
        // Elsewhere the bound of Bf16KernelMatchesFloat64Product is what holds.
        if (!CpuGemv.BatchInvariant) return;
        using var scope = NewDisposeScope();
        var w = randn(n, k);
        var bias = randn(n);
        var wb = w.to(ScalarType.BFloat16);
        AssertRowsOfABatchEqualTheRowAlone(k, x => CpuGemv.LinearBf16(x, wb, bias));
        AssertRowsOfABatchEqualTheRowAlone(k, x => CpuGemv.LinearBf16(x.to(ScalarType.BFloat16), wb, bias.to(ScalarType.BFloat16)));
        AssertRowsOfABatchEqualTheRowAlone(k, x => CpuGemv.LinearFp32(x, w, bias));
        // The bf16 single rows as before (one at a time, widened): the benchmarks' baseline, within the kernel's bound.
        var one = randn(1, k);
        CpuGemv.Bf16RowsWidened = true;
        Tensor widened;
        try { widened = CpuGemv.LinearBf16(one, wb, bias); }
        finally { CpuGemv.Bf16RowsWidened = false; }
        AssertClose(nn.functional.linear(one.to(ScalarType.Float64), wb.to(ScalarType.Float64), bias.to(ScalarType.Float64)), widened, k);
    }

    [Theory]
    [InlineData(37, 300, 6)]     // int8: a scalar tail and a short last block of columns; a partial group of x rows
    [InlineData(9, 13001, 17)]
    public void Int8BatchesGiveTheSameBitsAsTheRowByRowBaseline(int n, int k, int m)
    {
        // The benchmarks' baseline (AVX2: each weight row against the x rows in turn) against the AVX2 1 × 4 blocks; with
        // AVX-512 both take the 4 × 4 blocks. Either way the same bits.
        using var scope = NewDisposeScope();
        var (q, s) = Int8Quantizer.Quantize(randn(n, k));
        var x = randn(m, k);
        AssertSameBitsRowByRow(() => CpuGemv.LinearInt8(x, q, s, null));
    }

    [Theory]
    [InlineData(37, 384, 6)]     // int4: a last block of one 128-column chunk
    [InlineData(21, 3584, 17)]
    public void Int4BatchesGiveTheSameBitsAsTheRowByRowBaseline(int n, int k, int m)
    {
        if (!CpuGemv.SupportsInt4) return;
        using var scope = NewDisposeScope();
        var (packed, s) = Int4Quantizer.Quantize(randn(n, k));
        var x = randn(m, k);
        AssertSameBitsRowByRow(() => CpuGemv.LinearInt4(x, packed, s, null));
    }

    static void AssertSameBitsRowByRow(Func<Tensor> product)
    {
        var blocks = product();
        CpuGemv.IntBatchesRowByRow = true;
        try { Assert.True(product().equal(blocks).all().item<bool>(), "row by row against the blocks"); }
        finally { CpuGemv.IntBatchesRowByRow = false; }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Fp32KernelMatchesFloat64Product(int n, int k, int m)
    {
        if (!CpuGemv.SupportsFloat32) return;   // AVX-512 or AVX2; elsewhere Linear keeps libtorch for float32
        using var scope = NewDisposeScope();
        var w = randn(n, k);
        var bias = randn(n);
        var x = randn(m, k);
        var got = CpuGemv.LinearFp32(x, w, bias);
        AssertClose(nn.functional.linear(x.to(ScalarType.Float64), w.to(ScalarType.Float64), bias.to(ScalarType.Float64)), got, k);
    }

    [Fact]
    public void TrainableWeightsKeepTheirGradientOnDecodeSizedInputs()
    {
        // The kernels have no backward: a layer whose weight needs a gradient must stay on libtorch even for one row.
        using var scope = NewDisposeScope();
        var layer = new Linear(64, 8, hasBias: false, ModelPlacement.CpuFloat32);
        var weight = layer.named_parameters().Single(p => p.name == "weight").parameter;
        using (no_grad()) weight.copy_(randn(8, 64));
        weight.requires_grad = true;
        var x = randn(1, 64);
        layer.forward(x).sum().backward();
        Assert.NotNull(weight.grad);
        Assert.True(weight.grad!.allclose(x.expand(8, 64)));
    }

    [Fact]
    public void ThreadSplitDoesNotChangeResults()
    {
        using var scope = NewDisposeScope();
        var w32 = randn(203, 6300);
        var w = w32.to(ScalarType.BFloat16);
        var (q, s) = Int8Quantizer.Quantize(randn(203, 300));
        try
        {
            foreach (var m in new[] { 1, 2, 6 })   // the one-row path and the batched blocks
            {
                var x = randn(m, 6300);
                var x8 = randn(m, 300);
                CpuGemv.ThreadsOfThisThread = 1;
                var one = CpuGemv.LinearBf16(x, w, null);
                var one8 = CpuGemv.LinearInt8(x8, q, s, null);
                var one32 = CpuGemv.SupportsFloat32 ? CpuGemv.LinearFp32(x, w32, null) : null;
                foreach (var t in new[] { 2, 3 })
                {
                    CpuGemv.ThreadsOfThisThread = t;
                    Assert.True(CpuGemv.LinearBf16(x, w, null).equal(one).all().item<bool>(), $"bf16, {m} rows, {t} threads");
                    Assert.True(CpuGemv.LinearInt8(x8, q, s, null).equal(one8).all().item<bool>(), $"int8, {m} rows, {t} threads");
                    if (one32 is not null)
                        Assert.True(CpuGemv.LinearFp32(x, w32, null).equal(one32).all().item<bool>(), $"fp32, {m} rows, {t} threads");
                }
            }
        }
        finally { CpuGemv.ThreadsOfThisThread = 0; }
    }

    [Fact]
    public void RejectsMismatchedInputs()
    {
        using var scope = NewDisposeScope();
        var w = randn(8, 16).to(ScalarType.BFloat16);
        Assert.Contains("does not match", Assert.Throws<ArgumentException>(() => CpuGemv.LinearBf16(randn(1, 15), w, null)).Message);
        Assert.Contains("dtype", Assert.Throws<ArgumentException>(() => CpuGemv.LinearBf16(randn(1, 16), randn(8, 16), null)).Message);
        Assert.Contains("input rows", Assert.Throws<ArgumentException>(() => CpuGemv.LinearBf16(randn(CpuGemv.MaxRows + 1, 16), w, null)).Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(20)]    // batched decode: through the kernel
    [InlineData(64)]
    [InlineData(70)]    // prefill-sized: dequantised GEMM
    public void Int8LinearAgreesWithItsDequantisedWeightsForEveryRowCount(int rows)
    {
        using var scope = NewDisposeScope();
        var (layer, q, s, bias) = RandomInt8Layer(ScalarType.Float32, CPU, hasBias: true);
        var x = randn(rows, 96).view(1, rows, 96);
        var got = layer.forward(x);
        Assert.Equal(new long[] { 1, rows, 40 }, got.shape);
        var want = nn.functional.linear(x.to(ScalarType.Float64), q.to(ScalarType.Float64) * s.to(ScalarType.Float64).unsqueeze(1), bias!.to(ScalarType.Float64));
        if (rows <= CpuGemv.MaxRows) AssertWithinInt16Bound(want.view(rows, 40), got.view(rows, 40), x.view(rows, 96), q, s);
        else Assert.True((got - want).abs().max().item<double>() < 1e-4);
    }

    [Fact]
    public void BulkFloatToBf16MatchesLibtorchBitForBit()
    {
        // The kernel writes bf16 outputs itself (AVX-512, AVX2 or scalar, by what the CPU has; the AVX2 child run of
        // InstructionSetTests takes the second): round to nearest even, ties included, NaN stays NaN, ±∞ and subnormals kept.
        using var scope = NewDisposeScope();
        // The special values first, so that the vector loops (16 and 8 at a time) take them, not the scalar tail.
        var values = cat([tensor(new[] { float.NaN, -float.NaN, float.PositiveInfinity, float.NegativeInfinity,
            0f, -0f, 1e-40f, -3e-39f, 3.4e38f, BitConverter.Int32BitsToSingle(0x3F808000), BitConverter.Int32BitsToSingle(0x3F818000),
            BitConverter.Int32BitsToSingle(0x7F7FFFFF), BitConverter.Int32BitsToSingle(unchecked((int)0xBF818000)) }), randn(1003).mul(Scalars.Of(1e3))]);
        // libtorch's bf16 values widened back (exactly) to float32: their top 16 bits are the bf16 bits.
        var want = values.to(ScalarType.BFloat16).to(ScalarType.Float32).data<float>().Select(f => (ushort)(BitConverter.SingleToUInt32Bits(f) >> 16)).ToArray();
        var src = values.data<float>().ToArray();
        var got = new ushort[src.Length];
        CpuGemv.FloatToBf16(src, got);
        // NaN's bits are libtorch's own choice (its vectorised conversion keeps the sign and payload): a NaN is all we ask.
        static bool Same(ushort a, ushort b) => a == b || (a & 0x7F80) == 0x7F80 && (a & 0x7F) != 0 && (b & 0x7F80) == 0x7F80 && (b & 0x7F) != 0;
        for (int i = 0; i < src.Length; i++) Assert.True(Same(want[i], got[i]), $"{src[i]}: {got[i]:X4}, not {want[i]:X4}");
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported) return;
        // The AVX2 helper itself, which the AVX2 dequantisers use, on this machine too.
        for (int i = 0; i + 8 <= src.Length; i += 8)
        {
            var eight = CpuGemv.FloatToBf16x8(System.Runtime.Intrinsics.Vector256.Create(src, i));
            for (int l = 0; l < 8; l++)
                Assert.True(Same(want[i + l], System.Runtime.Intrinsics.Vector128.GetElement(eight, l)), $"{src[i + l]} (AVX2)");
        }
    }

    [Fact]
    public void Int8DequantisationToBf16IsTheRoundedFloat32Product()
    {
        using var scope = NewDisposeScope();
        foreach (var (n, k) in new[] { (70, 333), (3, 16), (129, 1000) })
        {
            var (q, s) = Int8Quantizer.Quantize(randn(n, k).mul(Scalars.Of(3)));
            var got = Int8Quantizer.DequantizeBf16(q, s);
            var want = (q.to(ScalarType.Float32) * s.unsqueeze(1)).to(ScalarType.BFloat16);
            Assert.Equal(ScalarType.BFloat16, got.dtype);
            Assert.True(got.equal(want).all().item<bool>(), $"[{n}, {k}]");
        }
        Assert.Throws<ArgumentException>(() => Int8Quantizer.DequantizeBf16(randn(3, 4), ones(3)));
    }

    [Fact]
    public void PrefillProductsThroughTheSharedBufferStayCorrectAsShapesChange()
    {
        using var scope = NewDisposeScope();
        // Growing, shrinking and growing again: the buffer is reused, reallocated, and its stale tail never leaks in. Through
        // either GEMM (libtorch's bf16 one, or the weights widened to float32 where that is slow): the same bits as that GEMM
        // over the dequantised weights.
        foreach (bool widened in new[] { false, true })
            foreach (var (n, k) in new[] { (40, 96), (300, 500), (7, 33), (301, 501), (40, 96) })
            {
                var (q, s) = Int8Quantizer.Quantize(randn(n, k));
                var x = randn(1, 70, k).to(ScalarType.BFloat16);
                var bias = randn(n).to(ScalarType.BFloat16);
                var got = WithGemm(widened, () => Int8Quantizer.LinearDequantised(x, q, s, bias));
                var want = PrefillGemm(widened, x, Int8Quantizer.DequantizeBf16(q, s), bias);
                Assert.True(got.equal(want).all().item<bool>(), $"[{n}, {k}], widened {widened}");
            }
        var (q2, s2) = Int8Quantizer.Quantize(randn(4, 8));
        Assert.Contains("shape [4, 8]", Assert.Throws<ArgumentException>(() => Int8Quantizer.DequantizeBf16(q2, s2, empty(4, 9, ScalarType.BFloat16))).Message);
    }

    [Fact]
    public void Int8LinearWithBf16ActivationsTakesThePrefillRouteOfItsGemm()
    {
        // libtorch's bf16 GEMM and the widened slices take the dequantised bf16 weights; the packed GEMM (AVX2 and FMA)
        // multiplies integers, or, with its baseline switch, reads the same bf16 weights.
        using var scope = NewDisposeScope();
        var (layer, q, s, _) = RandomInt8Layer(ScalarType.BFloat16, CPU, hasBias: false);
        var x = randn(1, 100, 96).to(ScalarType.BFloat16);
        var bf16 = (q.to(ScalarType.Float32) * s.unsqueeze(1)).to(ScalarType.BFloat16);
        foreach (var (widened, asBf16) in new[] { (false, false), (true, false), (true, true) })
        {
            Float32Gemm.QuantisedAsBf16Weights = asBf16;
            try
            {
                bool integers = widened && !asBf16 && Molmo.Model.Kernels.CpuGemm.IsSupported;
                var want = integers ? WithGemm(true, () => Float32Gemm.LinearInt8(x, q, s, null)!) : PrefillGemm(widened, x, bf16, null);
                Assert.True(WithGemm(widened, () => layer.forward(x)).equal(want).all().item<bool>(), $"widened {widened}, bf16 weights {asBf16}");
            }
            finally { Float32Gemm.QuantisedAsBf16Weights = false; }
        }
    }

    /// <summary><paramref name="f"/> with bf16 prefill products through libtorch's bf16 GEMM, or widened to float32
    /// (<see cref="Float32Gemm"/>), on this thread.</summary>
    static Tensor WithGemm(bool widened, Func<Tensor> f)
    {
        bool saved = Float32Gemm.Enabled;
        Float32Gemm.Enabled = widened;
        try { return f(); }
        finally { Float32Gemm.Enabled = saved; }
    }

    /// <summary>x · wᵀ (+ b) for bf16 w through the GEMM <see cref="WithGemm"/> names.</summary>
    static Tensor PrefillGemm(bool widened, Tensor x, Tensor w, Tensor? bias) =>
        widened ? Float32Gemm.Linear(x, w, bias) : nn.functional.linear(x, w, bias);

    /// <summary>
    /// A 96 → 40 int8 layer on <paramref name="device"/> with activations in <paramref name="dtype"/>, its weights quantised
    /// from a random matrix: the layer, its int8 weights and scales (on the CPU), and its bias as the layer holds it.
    /// </summary>
    internal static (Linear Layer, Tensor Q, Tensor S, Tensor? Bias) RandomInt8Layer(ScalarType dtype, Device device, bool hasBias)
    {
        var layer = new Linear(96, 40, hasBias, new ModelPlacement(dtype, device, Int8Decoder: true), quantizable: true);
        var (q, s) = Int8Quantizer.Quantize(randn(40, 96));
        var p = layer.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        using (no_grad())
        {
            p["weight"].copy_(q);
            p["weight_scale"].copy_(s);
            if (hasBias) p["bias"].copy_(randn(40));
        }
        return (layer, q, s, hasBias ? p["bias"] : null);
    }

    /// <summary>
    /// The int8 kernel's contract: x rounded per block of <see cref="CpuGemv.QBlock"/> columns to 16-bit integers (error at most
    /// half a step, max|x_block| / 32767, per value), so |y − y_exact| ≤ s_r · Σ_blocks step/2 · Σ_block |q_rj|, plus float32
    /// accumulation. On machines without AVX-512 the kernel multiplies float32 x, well inside this.
    /// </summary>
    static void AssertWithinInt16Bound(Tensor want, Tensor got, Tensor x, Tensor q, Tensor s) =>
        AssertWithinInt16Bound(want, got, x, q.to(ScalarType.Float64) * s.to(ScalarType.Float64).unsqueeze(1));

    /// <summary>x rounded to 16 bits per 256-column block (the int8 and int4 kernels): |error| ≤ Σ_blocks (max|x_block| /
    /// 65534) · Σ_block |w|, plus float32 accumulation; <paramref name="w"/> the weights as the kernel sees them.</summary>
    internal static void AssertWithinInt16Bound(Tensor want, Tensor got, Tensor x, Tensor w)
    {
        long k = x.shape[^1], blocks = (k + CpuGemv.QBlock - 1) / CpuGemv.QBlock, pad = blocks * CpuGemv.QBlock - k;
        var halfStep = nn.functional.pad(x.to(ScalarType.Float64).abs(), [0, pad]).view(-1, blocks, CpuGemv.QBlock).amax(2).div(Scalars.Of(2 * 32767.0));
        var wAbs = nn.functional.pad(w.to(ScalarType.Float64).abs(), [0, pad]).view(-1, blocks, CpuGemv.QBlock).sum(2);
        using var floor = Scalars.New(1e-5 * Math.Sqrt(k) * 10);
        var bound = halfStep.matmul(wAbs.t()).add(floor, Scalars.One);
        var err = (got.to(ScalarType.Float64) - want).abs();
        Assert.True((err <= bound).all().item<bool>(), $"max error {err.max().item<double>()} beyond the 16-bit rounding bound for width {k}");
    }

    /// <summary>Each row of a batched product equals the same row's product alone, bit for bit (batches of 2, 5 and 17).</summary>
    internal static void AssertRowsOfABatchEqualTheRowAlone(int k, Func<Tensor, Tensor> product)
    {
        foreach (var m in new[] { 2, 5, 17 })
        {
            var x = randn(m, k);
            var all = product(x);
            for (int i = 0; i < m; i++)
                Assert.True(product(x[TensorIndex.Slice(i, i + 1)]).equal(all[TensorIndex.Slice(i, i + 1)]).all().item<bool>(), $"row {i} of {m}");
        }
    }

    /// <summary>Float32 accumulation of k products of unit-scale terms: error well under 1e-5·k, relative to the magnitude.</summary>
    static void AssertClose(Tensor want, Tensor got, int k)
    {
        var err = (got.to(ScalarType.Float64) - want).abs().max().item<double>();
        Assert.True(err <= 1e-5 * Math.Sqrt(k) * 10, $"max error {err} for width {k}");
    }
}

/// <summary>
/// bf16 decode through the CPU kernel on the tiny golden checkpoints, teacher-forced along the reference's greedy ids (bf16 can
/// flip the near-ties of these random models, which would make later steps incomparable): every step's logits stay within the
/// bf16 bound of <see cref="Bf16GoldenTests"/> (0.25 absolute) of the float32 reference.
/// </summary>
public class Bf16KernelDecodeTests
{
    [Theory]
    [InlineData("tiny_d_style", "img_100x100")]
    [InlineData("tiny_o_style", "text_only")]
    public void DecodeStepsStayWithinTheBf16Bound(string variant, string @case)
    {
        Assert.True(Linear.UseCpuKernels);
        using var model = ModelLoader.Load(Golden.TinyDir(variant), new ModelPlacement(ScalarType.BFloat16, CPU));
        TeacherForced.AssertStepsWithin(model, variant, @case, 0.25, "bf16");
    }
}

/// <summary>
/// A decode step leaves nothing behind: the number of live tensors on this thread is the same after step 5 and after step 40
/// (the KV cache is preallocated and written in place; masks and RoPE tables are not rebuilt per step), on every CPU dtype.
/// </summary>
public class DecodeStepAllocationTests
{
    [Theory]
    [InlineData("fp32")]
    [InlineData("bf16")]
    [InlineData("int8")]
    public void LiveTensorCountDoesNotGrowWithSteps(string dtype)
    {
        var dir = Golden.TinyDir("tiny_d_style");
        var cfg = MolmoConfig.Load(dir);
        using var model = ModelLoader.Load(dir, Molmo.Runtime.TorchRuntime.ParsePlacement(dtype, CPU));
        using var scope = NewDisposeScope();
        var counts = new Dictionary<int, long>();
        int step = 0;
        foreach (var _ in new Molmo.Generation.Generator(model, cfg.SpecialTokens!.Eos)
                     .Generate(TinyInputs.Load("tiny_d_style", "img_100x100"), new GenerationOptions { MaxNewTokens = 40, StopOnEos = false }))
        {
            step++;
            if (step is 5 or 40) counts[step] = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        }
        Assert.Equal(40, step);
        Assert.Equal(counts[5], counts[40]);
    }
}

/// <summary>The kernel threads run every part exactly once, also when called from several threads at once or nested.</summary>
public class KernelThreadsTests
{
    [Fact]
    public void EveryPartRunsOnceUnderConcurrentAndNestedCalls()
    {
        var counts = new int[8 * 4];
        Parallel.For(0, 8, call => Molmo.Model.Kernels.KernelThreads.Run(4, part =>
        {
            Interlocked.Increment(ref counts[call * 4 + part]);
            if (part == 0) Molmo.Model.Kernels.KernelThreads.Run(2, _ => { });   // nested: runs inline
        }));
        Assert.All(counts, c => Assert.Equal(1, c));
        // A failing part surfaces (wrapped when it ran on a kernel thread, as is when the split ran inline).
        var e = Record.Exception(() => Molmo.Model.Kernels.KernelThreads.Run(2, p => { if (p == 1) throw new InvalidOperationException("boom"); }));
        Assert.Contains("boom", ((e as AggregateException)?.InnerException ?? e)!.Message);
    }
}
