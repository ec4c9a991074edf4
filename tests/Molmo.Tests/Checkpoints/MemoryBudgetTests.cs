using Molmo.Checkpoints;
using Molmo.Model;
using Molmo.TestSupport;
using static TorchSharp.torch;

namespace Molmo.Tests.Checkpoints;

/// <summary>
/// The memory check before loading: the released 7B-D in float32 (32 GB) on a 24 GB machine fails at once with the sizes and
/// the dtypes that fit, instead of minutes later in the OOM killer.
/// </summary>
public class MemoryBudgetTests
{
    static MolmoConfig Released7BD() => MolmoConfig.Load(Path.Combine(TestPaths.Models, "molmo-7b-d-0924"));

    static long Bytes(MolmoConfig cfg, ModelPlacement onMeta)
    {
        using var m = new MolmoForCausalLM(cfg, onMeta);
        return MemoryBudget.WeightBytes(m);
    }

    [Fact]
    public void Float32SevenBOnATwentyFourGigabyteMachineNamesTheDtypesThatFit()
    {
        var cfg = Released7BD();
        long fp32 = Bytes(cfg, new ModelPlacement(ScalarType.Float32, META));
        Assert.Equal(4L * 8_021_025_280, fp32);
        var e = Assert.Throws<InsufficientMemoryException>(() =>
            MemoryBudget.EnsureFits(cfg, new ModelPlacement(ScalarType.Float32, CPU), fp32, 23_000_000_000));
        Assert.Contains("32.1 GB in fp32", e.Message);
        Assert.Contains("23.0 GB", e.Message);
        Assert.Contains("--dtype bf16 (16.0 GB)", e.Message);
        Assert.Contains("--dtype int8 (", e.Message);
        Assert.DoesNotContain("--dtype fp32 (", e.Message);
        Assert.Contains(MemoryBudget.SkipVariable, e.Message);
    }

    [Fact]
    public void NothingFitsSaysSo()
    {
        var cfg = Released7BD();
        var e = Assert.Throws<InsufficientMemoryException>(() =>
            MemoryBudget.EnsureFits(cfg, new ModelPlacement(ScalarType.BFloat16, CPU), 16_000_000_000, 4_000_000_000));
        Assert.Contains("No dtype fits", e.Message);
    }

    [Fact]
    public void FittingGpuOrUnknownBudgetsPass()
    {
        var cfg = Released7BD();
        MemoryBudget.EnsureFits(cfg, new ModelPlacement(ScalarType.BFloat16, CPU), 16_000_000_000, 20_000_000_000);   // fits
        MemoryBudget.EnsureFits(cfg, new ModelPlacement(ScalarType.BFloat16, META), 16_000_000_000, 1);              // not the CPU
        MemoryBudget.EnsureFits(cfg, new ModelPlacement(ScalarType.BFloat16, CPU), 16_000_000_000, null);            // unknown
        if (OperatingSystem.IsLinux()) Assert.True(MemoryBudget.AvailableBytes() > 0);
    }
}
