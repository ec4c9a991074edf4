using System.Diagnostics;
using System.Runtime.Intrinsics.X86;
using System.Text.RegularExpressions;

namespace Molmo.Tests.Model;

/// <summary>
/// The CPU kernels (matrix products, int8 quantisation) have AVX2 paths for CPUs without AVX-512, which a test process on an
/// AVX-512 machine (this machine kind) never takes. Here the kernel and low-precision decoding tests run again in a child
/// process of this test assembly (its own runner, <see cref="SelfRunner"/>) with the runtime's AVX-512 support switched off.
/// </summary>
public class WithoutAvx512Tests
{
    static readonly string[] Classes =
    [
        "CpuGemvTests.", "Bf16KernelDecodeTests", "BatchedKernelDecodeTests", "Int8QuantizationTests",
        "Int8DecodeOnTheTestDeviceTests", "Bf16GoldenTests", "BatchGenerationTests",
    ];

    [Fact]
    public async Task KernelTestsPassOnTheAvx2Paths()
    {
        if (!Avx2.IsSupported || !Fma.IsSupported) return;   // no AVX2 path to take here either
        string assembly = typeof(SelfRunner).Assembly.Location, apphost = Path.ChangeExtension(assembly, null);
        var psi = File.Exists(apphost) ? new ProcessStartInfo(apphost) : new ProcessStartInfo("dotnet") { ArgumentList = { "exec", assembly } };
        foreach (var c in Classes) { psi.ArgumentList.Add("--filter"); psi.ArgumentList.Add($"Molmo.Tests.Model.{c}"); }
        psi.Environment["DOTNET_EnableAVX512"] = "0";
        psi.RedirectStandardOutput = psi.RedirectStandardError = true;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        try { await p.WaitForExitAsync(limit.Token); }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail("the child test run took over 5 minutes");
        }
        string output = await stdout + await stderr;
        Assert.Contains("instruction sets: AVX-512 no, AVX2 yes", output);
        Assert.True(p.ExitCode == 0 && Regex.IsMatch(output, @"\b[1-9][0-9]* passed, 0 failed"), output);
    }
}
