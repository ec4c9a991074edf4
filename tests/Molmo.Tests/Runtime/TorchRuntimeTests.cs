using static TorchSharp.torch;

namespace Molmo.Tests.Runtime;

public class TorchRuntimeTests
{
    [Fact]
    public void CpuAndDtypesParse()
    {
        Assert.Equal(TorchSharp.DeviceType.CPU, TorchRuntime.ParseDevice("cpu").type);
        Assert.Equal(ScalarType.BFloat16, TorchRuntime.ParseDType("bf16"));
        var p = TorchRuntime.ParsePlacement("int8", CPU);
        Assert.True(p.Int8Decoder);
        Assert.Equal("int8", TorchRuntime.PlacementName(p));
        var p4 = TorchRuntime.ParsePlacement("int4", CPU);
        Assert.True(p4.Int4Decoder && !p4.Int8Decoder);
        Assert.Equal(ScalarType.BFloat16, p4.DType);
        Assert.Equal("int4", TorchRuntime.PlacementName(p4));
        Assert.NotEqual(p4, new Molmo.Model.ModelPlacement(ScalarType.BFloat16, CPU));
        Assert.Contains("int8 or int4", Assert.Throws<ArgumentException>(() => new Molmo.Model.ModelPlacement(ScalarType.BFloat16, CPU, Int8Decoder: true) { Int4Decoder = true }).Message);
        Assert.Contains("int4", Assert.Throws<ArgumentException>(() => TorchRuntime.ParsePlacement("q3", CPU)).Message);
        Assert.Throws<NotSupportedException>(() => TorchRuntime.ParseDType("fp16"));
        Assert.Contains("unknown dtype", Assert.Throws<ArgumentException>(() => TorchRuntime.ParseDType("fp8")).Message);
        Assert.Contains("cuda:N", Assert.Throws<ArgumentException>(() => TorchRuntime.ParseDevice("cuda:x")).Message);
    }

    [Fact]
    public void LibtorchIsAskedForHugePagesUnlessTheUserSaidOtherwise()
    {
        // Set when the assembly loaded, before libtorch: "1" where the kernel offers THP, unless the user had set a value.
        var value = Environment.GetEnvironmentVariable(TorchRuntime.HugePagesVariable);
        if (TorchRuntime.HugePagesDefaulted) Assert.Equal("1", value);
        else if (OperatingSystem.IsLinux() && TorchRuntime.TransparentHugePagesAvailable()) Assert.NotNull(value);
        // And libtorch honours it: a fresh 64 MB tensor, written, lies in a mapping with huge pages (the kernel's accounting
        // of the mapping that holds its data, /proc/self/smaps).
        if (value == "1" && File.Exists("/proc/self/smaps"))
        {
            using var t = ones(64L << 20, ScalarType.Byte);
            long address = Molmo.Checkpoints.NativeTensor.DataPointer(t);
            Assert.True(AnonHugeKbOfMappingAt(address) > 0, $"no huge pages in the mapping of a 64 MB tensor at 0x{address:x}");
        }
    }

    /// <summary>AnonHugePages (kB) of the mapping of this process that holds <paramref name="address"/>.</summary>
    static long AnonHugeKbOfMappingAt(long address)
    {
        bool inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-');
            if (dash > 0 && line.IndexOf(' ') > dash && long.TryParse(line.AsSpan(0, dash), System.Globalization.NumberStyles.HexNumber, null, out long start)
                && long.TryParse(line.AsSpan(dash + 1, line.IndexOf(' ') - dash - 1), System.Globalization.NumberStyles.HexNumber, null, out long end))
                inside = address >= start && address < end;
            else if (inside && line.StartsWith("AnonHugePages:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        return 0;
    }

    [Fact]
    public void CudaWithoutAGpuFailsWithAnActionableMessage()
    {
        if (cuda.is_available()) return;  // on a GPU machine this path is exercised by the real run instead
        var e = Assert.Throws<NotSupportedException>(() => TorchRuntime.ParseDevice("cuda"));
        Assert.Contains("CUDA", e.Message);
        Assert.True(e.Message.Contains("MOLMO_LIBTORCH") || e.Message.Contains("--device cpu"), e.Message);
    }
}

/// <summary>
/// <see cref="TorchRuntime.UseCpuThreads"/> (<c>--threads</c>). In the CLI tests' collection: they, and only they, change the
/// process-wide counts.
/// </summary>
[Collection("cli")]
public class CpuThreadsTests
{
    [Fact]
    public void UseCpuThreadsSetsTheKernelsAndLibtorchAndPutsBothBack()
    {
        TorchRuntime.ApplyCpuThreads();     // this thread's count as an earlier test's UseCpuThreads left it
        int kernels = TorchRuntime.CpuThreads, torchThreads = get_num_threads();
        int n = kernels == 1 ? 2 : 1;
        var applied = TorchRuntime.UseCpuThreads(n);
        Assert.Equal(n, TorchRuntime.CpuThreads);
        Assert.Equal(n, Molmo.Model.Kernels.CpuGemv.MaxThreads);
        Assert.Equal(n, get_num_threads());
        applied.Dispose();
        Assert.Equal(kernels, TorchRuntime.CpuThreads);
        Assert.Equal(torchThreads, get_num_threads());
        applied.Dispose();                  // a second dispose changes nothing
        Assert.Equal(kernels, TorchRuntime.CpuThreads);
        foreach (var bad in new[] { 0, -1, TorchRuntime.MaxCpuThreads + 1 })
            Assert.Contains($"--threads {bad}", Assert.Throws<ArgumentOutOfRangeException>(() => TorchRuntime.UseCpuThreads(bad)).Message);
        Assert.Equal(kernels, TorchRuntime.CpuThreads);
    }

    [Fact]
    public void TheForwardPassRunsWithTheCountOnAThreadThatHadAnother()
    {
        // libtorch keeps its count per thread: a thread-pool thread that ran ops before UseCpuThreads keeps its own, so the
        // model's forward pass applies the count where it runs.
        using var model = Molmo.Checkpoints.ModelLoader.Load(Molmo.Tests.Model.Golden.TinyDir("tiny_d_style"), Molmo.Tests.Model.Golden.Float32);
        TorchRuntime.ApplyCpuThreads();
        int torchThreads = get_num_threads();
        int n = torchThreads == 1 ? 2 : 1, other = n + 1, before = 0, after = 0;
        using (TorchRuntime.UseCpuThreads(n))
        {
            var worker = new Thread(() =>
            {
                set_num_threads(other);                 // this thread's own count, as if set before
                before = get_num_threads();
                using var scope = NewDisposeScope();
                using var _ = no_grad();
                model.Forward(new Molmo.Model.ModelInputs(tensor(new long[] { 1, 2, 3 }, ScalarType.Int64).unsqueeze(0)));
                after = get_num_threads();
            });
            worker.Start();
            worker.Join();
        }
        Assert.Equal(other, before);
        Assert.Equal(n, after);
        TorchRuntime.ApplyCpuThreads();
        Assert.Equal(torchThreads, get_num_threads());
    }
}
