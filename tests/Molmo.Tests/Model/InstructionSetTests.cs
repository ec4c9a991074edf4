using System.Diagnostics;
using System.Runtime.Intrinsics.X86;
using System.Text.RegularExpressions;

namespace Molmo.Tests.Model;

/// <summary>
/// The CPU kernels (matrix products, int8 and int4 quantisation) have AVX-512, AVX2 and scalar paths (int4's kernel has no
/// scalar one: without AVX2 int4 layers dequantise for libtorch), and <see cref="Molmo.Model.Linear"/> routes around the
/// kernels on a CPU with neither AVX2 nor AVX-512; both attention kernels have AVX-512 and AVX2 routes, and the modules fall
/// back to libtorch's SDPA without them. A test process on an AVX-512 machine (this machine kind) takes only the first. Here
/// the kernel, attention and low-precision decoding tests run again in child processes of this test assembly (its own
/// runner, <see cref="SelfRunner"/>) with the runtime's AVX-512, then also its AVX2, support switched off.
/// </summary>
public class InstructionSetTests
{
    static readonly string[] Classes =
    [
        "CpuGemvTests.", "Bf16KernelDecodeTests", "BatchedKernelDecodeTests", "Int8QuantizationTests",
        "Int8DecodeOnTheTestDeviceTests", "Bf16GoldenTests", "BatchGenerationTests", "CpuSequenceAttentionTests",
        "Int4QuantizerTests", "Int4KernelTests", "Int4GoldenTests", "CpuAttentionTests",
    ];

    [Fact]
    public Task KernelTestsPassOnTheAvx2Paths() =>
        Avx2.IsSupported && Fma.IsSupported ? RunWithout("DOTNET_EnableAVX512", "AVX-512 no, AVX2 yes") : Task.CompletedTask;

    [Fact]
    public Task KernelTestsPassWithoutAvx2() => RunWithout("DOTNET_EnableAVX2", "AVX-512 no, AVX2 no",
        // Loading int8 or int4 weights there says why their decode steps are slow.
        "note: this CPU has neither AVX2 (with FMA) nor AVX-512");

    /// <summary>The tests of <see cref="Classes"/> in a child process with <paramref name="switchOff"/>=0, which must see
    /// <paramref name="sets"/> and pass them all.</summary>
    static async Task RunWithout(string switchOff, string sets, string? note = null)
    {
        string assembly = typeof(SelfRunner).Assembly.Location, apphost = Path.ChangeExtension(assembly, null);
        var psi = File.Exists(apphost) ? new ProcessStartInfo(apphost) : new ProcessStartInfo("dotnet") { ArgumentList = { "exec", assembly } };
        foreach (var c in Classes) { psi.ArgumentList.Add("--filter"); psi.ArgumentList.Add($"Molmo.Tests.Model.{c}"); }
        psi.Environment[switchOff] = "0";
        psi.RedirectStandardOutput = psi.RedirectStandardError = true;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        try { await p.WaitForExitAsync(limit.Token); }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"the child test run ({switchOff}=0) took over 5 minutes");
        }
        string output = await stdout + await stderr;
        Assert.Contains($"instruction sets: {sets}", output);
        if (note is not null) Assert.Contains(note, output);
        else Assert.DoesNotContain("note: this CPU has neither", output);
        Assert.True(p.ExitCode == 0 && Regex.IsMatch(output, @"\b[1-9][0-9]* passed, 0 failed"), output);
    }
}
