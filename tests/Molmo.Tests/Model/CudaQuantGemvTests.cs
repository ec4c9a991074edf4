using System.Diagnostics;
using System.Text.RegularExpressions;
using Molmo.Checkpoints;
using Molmo.Model;
using Molmo.TestSupport;
using static TorchSharp.torch;

namespace Molmo.Tests.Model;

/// <summary>
/// The CUDA int8 and int4 decode kernels (Runtime/Native/quant_gemv.cu, shipped as PTX). Everywhere: the embedded PTX is what the
/// source builds to, its entry point takes the arguments the host passes, the host's constants match the kernel's, the
/// kernel's own source computes the product when run on the CPU with a warp emulation, and the kernel is never tried off CUDA. On a GPU (<c>MOLMO_TEST_DEVICE=cuda</c>): its products against the dequantised ones on
/// 7B-D's widths, 1–16 rows (one and two launches), with and without bias, and the int8 layer through it. The int4 kernels
/// of the same source likewise (emulated everywhere, against the dequantised product on a GPU).
/// </summary>
public class CudaQuantGemvTests
{
    static string Native => Path.Combine(TestPaths.Repo, "src", "Molmo", "Runtime", "Native");

    static string EmbeddedPtx()
    {
        using var s = typeof(CudaQuantGemv).Assembly.GetManifestResourceStream(CudaQuantGemv.PtxResource)!;
        return new StreamReader(s).ReadToEnd();
    }

    [Fact]
    public void EmbeddedPtxDeclaresTheEntryPointTheHostLaunches()
    {
        var ptx = EmbeddedPtx();
        var entries = Regex.Matches(ptx, @"\.visible \.entry (\w+)\(([^)]*)\)").ToDictionary(e => e.Groups[1].Value, e => e.Groups[2].Value);
        Assert.Equal(new[] { CudaQuantGemv.EntryPoint, CudaQuantGemv.EntryPointOneRow, CudaQuantGemv.EntryPointSplit, CudaQuantGemv.EntryPointSplitOneRow,
                             CudaQuantGemv.EntryPointInt4, CudaQuantGemv.EntryPointInt4OneRow }.Order(),
                     entries.Keys.Order());
        // TryLaunch passes w, scale, x, bias, y (device pointers) and n, k, m (32-bit integers), in that order, to either.
        foreach (var parameters in entries.Values)
            Assert.Equal(new[] { "u64", "u64", "u64", "u64", "u64", "u32", "u32", "u32" },
                Regex.Matches(parameters, @"\.param \.(\w+)").Select(m => m.Groups[1].Value).ToArray());
        Assert.Contains(".target sm_80", ptx);
        Assert.DoesNotContain(".local", ptx);    // the accumulators stay in registers
        // The host's row limit is the kernel's MAXM, its rows a warp the kernel's ROWS, its warps a block the kernel's SPLIT.
        var source = File.ReadAllText(Path.Combine(Native, "quant_gemv.cu"));
        var consts = Regex.Match(source, @"enum \{ ROWS = (\d+), MAXM = (\d+), SPLIT = (\d+) \}");
        Assert.True(consts.Success);
        Assert.Equal(CudaQuantGemv.RowsPerLaunch, int.Parse(consts.Groups[2].Value));
        Assert.Equal(CudaQuantGemv.RowsPerWarp, int.Parse(consts.Groups[1].Value));
        Assert.Equal(CudaQuantGemv.ThreadsPerBlock / 32, int.Parse(consts.Groups[3].Value));
        // Shared out by columns (int8's two kernels and int4's two), the block's warps meet once to add their sums.
        Assert.Equal(4, Regex.Matches(ptx, @"bar\.sync").Count);
        // Every kernel widens weights by byte permutes, with no int-to-float conversion.
        foreach (var body in Regex.Split(ptx, @"(?=\.visible \.entry )").Skip(1))
        {
            string entry = Regex.Match(body, @"\.entry (\w+)").Groups[1].Value;
            Assert.True(body.Contains("prmt.b32"), $"{entry}: no byte permutes");
            Assert.False(Regex.IsMatch(body, @"cvt\.rn\.f32\.[su](8|16|32|64)"), $"{entry}: int-to-float conversions");
        }
    }

    [Fact]
    public void EmbeddedPtxIsWhatTheSourceBuildsTo()
    {
        // Needs clang with the NVPTX back end (this project's machines have LLVM 14); elsewhere there is nothing to rebuild with.
        var clang = new[] { "/usr/lib/llvm-14/bin/clang++", "/usr/bin/clang++-14", "/usr/bin/clang++" }.FirstOrDefault(File.Exists);
        if (clang is null) return;
        var dir = TestPaths.NewTempDir();
        var output = Path.Combine(dir, "quant_gemv.ptx");
        var psi = new ProcessStartInfo("bash", [Path.Combine(TestPaths.Repo, "build", "quant_gemv_ptx.sh"), output])
        { RedirectStandardError = true, RedirectStandardOutput = true, WorkingDirectory = TestPaths.Repo };
        psi.Environment["CLANG"] = clang;
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, err);
        Assert.True(File.ReadAllText(output) == EmbeddedPtx(), "quant_gemv.ptx is stale: run build/quant_gemv_ptx.sh");
    }

    static readonly Lazy<string?> Emulator = new(() =>
    {
        // The kernel's own source built for this CPU with a warp emulation (tests/Molmo.Tests/Native/quant_gemv_emulation.cpp).
        if (!File.Exists("/usr/bin/g++")) return null;
        var exe = Path.Combine(TestPaths.NewTempDir(), "quant_gemv_emulation");
        var psi = new ProcessStartInfo("/usr/bin/g++", ["-std=c++20", "-O2", "-pthread", "-I", Native, "-o", exe,
            Path.Combine(TestPaths.Repo, "tests", "Molmo.Tests", "Native", "quant_gemv_emulation.cpp")]) { RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"the emulation did not build: {err}");
        return exe;
    });

    [Theory]
    [InlineData(37, 528, 3, true)]     // rows not a multiple of the 16 a block takes, width not a multiple of a warp's 512
    [InlineData(70, 1040, 1, false)]   // one row of x (both kernels), no bias
    [InlineData(9, 528, 1, true)]
    [InlineData(16, 64, 8, true)]      // a full block, the most rows of x, a width narrower than the warp (lanes left idle)
    [InlineData(5, 2048, 5, true)]
    [InlineData(6, 4112, 2, true)]     // by columns: the four warps take 1040, 1024, 1024 and 1024 of the 4112 columns (a last step of one lane)
    public void KernelSourceComputesTheProductInAWarpEmulation(int n, int k, int m, bool withBias)
    {
        if (Emulator.Value is not { } exe) return;   // needs g++ (this project's machines have it)
        using var scope = NewDisposeScope();
        var (q, s) = Int8Quantizer.Quantize(randn(n, k));
        var x = randn(m, k).to(ScalarType.BFloat16);
        var bias = withBias ? randn(n).to(ScalarType.BFloat16) : null;
        var (input, output) = WriteEmulatorInput(n, k, m, q.data<sbyte>().ToArray().Select(v => (byte)v).ToArray(), s, x, bias);
        // One row of x: the one-row kernels (what the host launches), then the general ones too; by columns (the host's
        // default) and by rows.
        foreach (var kernel in m == 1 ? new[] { "split-one", "split", "one", "general" } : ["split", "general"])
            CheckEmulatedOutput(exe, input, output, kernel, x, q, s, bias, n, k, m);
    }

    [Theory]
    [InlineData(37, 640, 3, true)]      // rows not a multiple of the 4 a block takes; a warp's last step only partly used
    [InlineData(9, 3584, 1, false)]     // 7B-D's width, one row of x (both kernels), no bias
    [InlineData(16, 128, 8, true)]      // one chunk a row, the most rows of x: most lanes idle
    [InlineData(6, 4224, 2, true)]      // 2112 bytes a row: the four warps' shares end in a step of one lane
    [InlineData(5, 18944, 5, false)]    // ff_out's width
    public void Int4KernelSourceComputesTheProductInAWarpEmulation(int n, int k, int m, bool withBias)
    {
        if (Emulator.Value is not { } exe) return;   // needs g++ (this project's machines have it)
        using var scope = NewDisposeScope();
        var (packed, s) = Int4Quantizer.Quantize(randn(n, k));
        var x = randn(m, k).to(ScalarType.BFloat16);
        var bias = withBias ? randn(n).to(ScalarType.BFloat16) : null;
        var (input, output) = WriteEmulatorInput(n, k, m, packed.data<byte>().ToArray(), s, x, bias);
        var w = Int4Quantizer.Dequantize(packed, s, ScalarType.Float64);
        foreach (var kernel in m == 1 ? new[] { "int4-split-one", "int4-split" } : ["int4-split"])
            CheckEmulatedOutput(exe, input, output, kernel, x, w, bias, n, k, m);
    }

    /// <summary>The int4 kernels widen each nibble as int8's widen bytes: every 4-bit two's complement value exactly.</summary>
    [Fact]
    public void KernelSourceWidensEveryInt4ValueExactly()
    {
        if (Emulator.Value is not { } exe) return;
        var output = Path.Combine(TestPaths.NewTempDir(), "widened4.bin");
        using (var p = Process.Start(new ProcessStartInfo(exe, ["-", output, "widen4"]))!)
        {
            p.WaitForExit();
            Assert.Equal(0, p.ExitCode);
        }
        var bytes = File.ReadAllBytes(output);
        Assert.Equal(2 * 256 * 4, bytes.Length);
        for (int high = 0; high < 2; high++)
            for (int v = 0; v < 256; v++)
            {
                int t = (v >> (4 * high)) & 15, expected = t >= 8 ? t - 16 : t;
                Assert.True(BitConverter.ToSingle(bytes, 4 * (256 * high + v)) == expected, $"byte 0x{v:x2}, {(high == 1 ? "high" : "low")} nibble");
            }
    }

    /// <summary>The kernel widens weights without a conversion instruction (a byte permute into the float 2^23 + q + 128,
    /// then one float add): every int8 value exactly, −128 included.</summary>
    [Fact]
    public void KernelSourceWidensEveryInt8ValueExactly()
    {
        if (Emulator.Value is not { } exe) return;   // needs g++ (this project's machines have it)
        var output = Path.Combine(TestPaths.NewTempDir(), "widened.bin");
        using (var p = Process.Start(new ProcessStartInfo(exe, ["-", output, "widen"]))!)
        {
            p.WaitForExit();
            Assert.Equal(0, p.ExitCode);
        }
        var bytes = File.ReadAllBytes(output);
        Assert.Equal(256 * 4, bytes.Length);
        for (int v = 0; v < 256; v++)
            Assert.True(BitConverter.ToSingle(bytes, 4 * v) == (sbyte)(byte)v,
                $"byte 0x{v:x2} widened to {BitConverter.ToSingle(bytes, 4 * v)}, not {(sbyte)(byte)v}");
    }

    /// <summary>The emulation's input file (n, k, m, has-bias; the weights' bytes; float32 scales; bf16 x; bf16 bias) and a
    /// path for its output.</summary>
    static (string Input, string Output) WriteEmulatorInput(int n, int k, int m, byte[] weights, Tensor scales, Tensor x, Tensor? bias)
    {
        var dir = TestPaths.NewTempDir();
        string input = Path.Combine(dir, "in.bin"), output = Path.Combine(dir, "out.bin");
        using var f = new BinaryWriter(File.Create(input));
        f.Write(n); f.Write(k); f.Write(m); f.Write(bias is null ? 0 : 1);
        f.Write(weights);
        foreach (var v in scales.data<float>().ToArray()) f.Write(v);
        f.Write(x.contiguous().bytes);              // bf16 bits
        if (bias is not null) f.Write(bias.contiguous().bytes);
        return (input, output);
    }

    static void CheckEmulatedOutput(string exe, string input, string output, string kernel, Tensor x, Tensor q, Tensor s, Tensor? bias, int n, int k, int m) =>
        CheckEmulatedOutput(exe, input, output, kernel, x, q.to(ScalarType.Float64) * s.to(ScalarType.Float64).unsqueeze(1), bias, n, k, m);

    /// <summary>The emulated kernel's output against x · wᵀ (+ bias) in float64, <paramref name="w"/> the dequantised weights.</summary>
    static void CheckEmulatedOutput(string exe, string input, string output, string kernel, Tensor x, Tensor w, Tensor? bias, int n, int k, int m)
    {
        using (var p = Process.Start(new ProcessStartInfo(exe, [input, output, kernel]))!)
        {
            p.WaitForExit();
            Assert.Equal(0, p.ExitCode);
        }
        var bits = File.ReadAllBytes(output);
        Assert.Equal(2 * m * n, bits.Length);
        var values = Enumerable.Range(0, m * n).Select(i => (double)BitConverter.Int32BitsToSingle(BitConverter.ToUInt16(bits, 2 * i) << 16)).ToArray();
        var got = tensor(values).view(m, n);
        var want = nn.functional.linear(x.to(ScalarType.Float64), w.to(ScalarType.Float64), bias?.to(ScalarType.Float64));
        // Float32 sums, then one bf16 rounding of the output.
        var excess = (got - want).abs() - want.abs().mul(Scalars.Of(1.0 / 128));
        Assert.True(excess.max().item<double>() <= 1e-4 * Math.Sqrt(k), $"{kernel} kernel: off by up to {(got - want).abs().max().item<double>()}");
    }

    [Fact]
    public void IsNeverTriedOffCuda()
    {
        using var scope = NewDisposeScope();
        var (q, s) = Int8Quantizer.Quantize(randn(32, 64));
        Assert.Null(CudaQuantGemv.TryLinear(randn(1, 64).to(ScalarType.BFloat16), q, s, null));
        var (packed, s4) = Int4Quantizer.Quantize(randn(32, 128));
        Assert.Null(CudaQuantGemv.TryLinearInt4(randn(1, 128).to(ScalarType.BFloat16), packed, s4, null));
        Assert.False(CudaGraph.Capturing);
    }

    [Theory]
    [InlineData(4608, 3584, true)]     // att_proj (with its bias)
    [InlineData(3584, 18944, false)]   // ff_out
    [InlineData(37, 528, true)]        // rows not a multiple of the 16 a block takes
    public void MatchesTheDequantisedProductOnCuda(int n, int k, bool withBias)
    {
        var device = Golden.TestDevice;
        if (device.type != TorchSharp.DeviceType.CUDA) return;   // a GPU check: gpu-check.sh runs it with MOLMO_TEST_DEVICE=cuda
        using var scope = NewDisposeScope();
        var (q, s) = Int8Quantizer.Quantize(randn(n, k));
        (q, s) = (q.to(device), s.to(device));
        foreach (bool split in new[] { true, false })
            AssertMatchesOnCuda(n, k, withBias, q.to(ScalarType.Float32) * s.unsqueeze(1), $"int8 by {(split ? "columns" : "rows")}", (x, bias) =>
            {
                CudaQuantGemv.SplitColumns = split;
                try { return CudaQuantGemv.TryLinear(x, q, s, bias); }
                finally { CudaQuantGemv.SplitColumns = true; }
            }, () => CudaQuantGemv.Unavailable(Math.Max(0, (int)device.index)));
    }

    [Theory]
    [InlineData(4608, 3584, true)]     // att_proj (with its bias)
    [InlineData(3584, 18944, false)]   // ff_out
    [InlineData(37, 640, true)]        // rows not a multiple of the 4 a block takes
    public void Int4MatchesTheDequantisedProductOnCuda(int n, int k, bool withBias)
    {
        var device = Golden.TestDevice;
        if (device.type != TorchSharp.DeviceType.CUDA) return;   // a GPU check: gpu-check.sh runs it with MOLMO_TEST_DEVICE=cuda
        using var scope = NewDisposeScope();
        var (packed, s) = Int4Quantizer.Quantize(randn(n, k));
        var w = Int4Quantizer.Dequantize(packed, s, ScalarType.Float32).to(device);
        (packed, s) = (packed.to(device), s.to(device));
        AssertMatchesOnCuda(n, k, withBias, w, "int4", (x, bias) => CudaQuantGemv.TryLinearInt4(x, packed, s, bias),
            () => CudaQuantGemv.Int4Unavailable(Math.Max(0, (int)device.index)));
    }

    /// <summary>
    /// <paramref name="product"/> (a kernel's) for 1–16 rows of x (9 and 16: two launches), with or without a bias, against
    /// x · wᵀ (+ bias) in float32 with <paramref name="w"/> the dequantised weights: float32 sums in another order, then one
    /// bf16 rounding of the output. 17 rows go to cuBLAS (null).
    /// </summary>
    static void AssertMatchesOnCuda(int n, int k, bool withBias, Tensor w, string what, Func<Tensor, Tensor?, Tensor?> product, Func<string?> unavailable)
    {
        var device = w.device;
        var bias = withBias ? randn(n).to(ScalarType.BFloat16).to(device) : null;
        foreach (var m in new[] { 1, 2, 3, 5, 8, 9, 16 })
        {
            var x = randn(1, m, k).to(ScalarType.BFloat16).to(device);
            var got = product(x, bias);
            Assert.True(got is not null, $"{what}: the kernel was not used: {unavailable()}");
            Assert.Equal(new long[] { 1, m, n }, got!.shape);
            var want = nn.functional.linear(x.to(ScalarType.Float32), w, bias?.to(ScalarType.Float32));
            var excess = (got.to(ScalarType.Float32) - want).abs() - want.abs().mul(Scalars.Of(1.0 / 128));
            Assert.True(excess.max().item<float>() <= 1e-3 * Math.Sqrt(k), $"{what}, {m} rows: off by {(got.to(ScalarType.Float32) - want).abs().max().item<float>()}");
        }
        Assert.Null(product(randn(17, k).to(ScalarType.BFloat16).to(device), bias));   // batches of 17+: cuBLAS
    }

    [Fact]
    public void Int8LayerOnCudaUsesTheKernelForDecodeSteps()
    {
        var device = Golden.TestDevice;
        if (device.type != TorchSharp.DeviceType.CUDA) return;
        using var scope = NewDisposeScope();
        var (layer, q, s, bias) = CpuGemvTests.RandomInt8Layer(ScalarType.BFloat16, device, hasBias: true);
        var x = randn(1, 1, 96).to(ScalarType.BFloat16).to(device);
        long launches = CudaQuantGemv.Launches;
        var fast = layer.forward(x);
        Assert.Null(CudaQuantGemv.Unavailable(Math.Max(0, (int)device.index)));
        Assert.True(CudaQuantGemv.Launches > launches, "the layer did not launch the kernel");
        CudaQuantGemv.Enabled = false;
        Tensor slow;
        launches = CudaQuantGemv.Launches;
        try { slow = layer.forward(x); }
        finally { CudaQuantGemv.Enabled = true; }
        Assert.Equal(launches, CudaQuantGemv.Launches);
        // Both against the exact product. The kernel sums exact products in float32 and rounds the output once to bf16. The
        // dequantised route rounds the unscaled product to bf16, scales it in bf16 and adds the bias in bf16: roundings of
        // the product before the bias cancels part of it, each up to 2⁻⁹ of Σ|x·w|, more than the output's own rounding.
        var w = q.to(device).to(ScalarType.Float32) * s.to(device).unsqueeze(1);
        var xf = x.to(ScalarType.Float32);
        var want = nn.functional.linear(xf, w, bias!.to(ScalarType.Float32));
        var terms = nn.functional.linear(xf.abs(), w.abs());   // Σ|x·w| per output
        foreach (var (route, got, termRounding) in new[] { ("kernel", fast, 0.0), ("dequantised", slow, 1.0 / 256) })
        {
            var off = (got.to(ScalarType.Float32) - want).abs();
            Assert.True((off - want.abs().mul(Scalars.Of(1.0 / 128)) - terms.mul(Scalars.Of(termRounding))).max().item<float>() <= 1e-2,
                $"{route}: off by up to {off.max().item<float>()}");
        }
    }

    [Fact]
    public void IsRecordedIntoACudaGraph()
    {
        // A decode step recorded as a CUDA graph records the kernel with it (launched on the recording stream): the replay
        // computes the product of whatever x then holds. Also where a graph is the kernel's first use (as in a process that
        // decodes with graph steps from its first request): the warm-ups before capturing load it.
        var device = Golden.TestDevice;
        if (device.type != TorchSharp.DeviceType.CUDA) return;
        if (CudaGraph.Unavailable(device) is { } why) { Console.Error.WriteLine($"CUDA graphs here: {why}"); return; }
        CudaQuantGemv.ForgetLoaded();
        using var scope = NewDisposeScope();
        const int n = 1040, k = 3584;
        var (q, s) = Int8Quantizer.Quantize(randn(n, k));
        (q, s) = (q.to(device), s.to(device));
        var bias = randn(n).to(ScalarType.BFloat16).to(device);
        foreach (int m in new[] { 1, 3, 12 })   // the one-row kernel, the general one, two launches
        {
            var x = zeros([1, m, k], ScalarType.BFloat16, device);
            Tensor? y = null;
            long launches = CudaQuantGemv.Launches;
            using (var graph = CudaGraph.Record(device, () =>
                   {
                       y?.Dispose();
                       y = CudaQuantGemv.TryLinear(x, q, s, bias) ?? throw new InvalidOperationException("the kernel was not used");
                   }))
            {
                Assert.True(CudaQuantGemv.Launches > launches);
                for (int replay = 0; replay < 2; replay++)
                {
                    var input = randn(1, m, k).to(ScalarType.BFloat16).to(device);
                    x.copy_(input);
                    graph.Replay();
                    var want = nn.functional.linear(input.to(ScalarType.Float32), q.to(ScalarType.Float32) * s.unsqueeze(1), bias.to(ScalarType.Float32));
                    var off = (y!.to(ScalarType.Float32) - want).abs();
                    Assert.True((off - want.abs().mul(Scalars.Of(1.0 / 128))).max().item<float>() <= 1e-3 * Math.Sqrt(k),
                        $"{m} rows, replay {replay}: off by up to {off.max().item<float>()}");
                }
            }
            y!.Dispose();
        }
    }
}
