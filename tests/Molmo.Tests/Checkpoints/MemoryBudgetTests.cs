using Molmo.Checkpoints;
using Molmo.Model;
using Molmo.TestSupport;
using static TorchSharp.torch;

namespace Molmo.Tests.Checkpoints;

/// <summary>
/// The memory check before loading: the released 7B-D in float32 on a machine where only bf16 and int8 fit fails at once with
/// the sizes and the dtypes that fit, instead of minutes later in the OOM killer. Sizes come from the released config's
/// architecture built on the meta device.
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
        long fp32, parameters;
        using (var m = new MolmoForCausalLM(cfg, new ModelPlacement(ScalarType.Float32, META)))
            (fp32, parameters) = (MemoryBudget.WeightBytes(m), m.ParameterCount);
        Assert.Equal(4 * parameters, fp32);
        long bf16 = Bytes(cfg, new ModelPlacement(ScalarType.BFloat16, META));
        long int8 = Bytes(cfg, new ModelPlacement(ScalarType.BFloat16, META, Int8Decoder: true));
        Assert.Equal(2 * parameters, bf16);
        Assert.True(int8 < bf16 * 0.6, $"int8 {int8} against bf16 {bf16}");
        long available = (bf16 + fp32) / 2;   // bf16 and int8 fit, fp32 does not
        var e = Assert.Throws<InsufficientMemoryException>(() =>
            MemoryBudget.EnsureFits(cfg, new ModelPlacement(ScalarType.Float32, CPU), fp32, available));
        Assert.Contains($"{fp32 / 1e9:F1} GB in fp32", e.Message);
        Assert.Contains($"{available / 1e9:F1} GB", e.Message);
        Assert.Contains($"--dtype bf16 ({bf16 / 1e9:F1} GB)", e.Message);
        Assert.Contains($"--dtype int8 ({int8 / 1e9:F1} GB)", e.Message);
        Assert.DoesNotContain("--dtype fp32 (", e.Message);
        Assert.Contains(MemoryBudget.SkipVariable, e.Message);
    }

    [Fact]
    public void NothingFitsSaysSo()
    {
        var cfg = Released7BD();
        long int4 = Bytes(cfg, new ModelPlacement(ScalarType.BFloat16, META) { Int4Decoder = true });
        var e = Assert.Throws<InsufficientMemoryException>(() =>
            MemoryBudget.EnsureFits(cfg, new ModelPlacement(ScalarType.BFloat16, CPU), 2 * int4, int4 - 1));
        Assert.Contains("No dtype fits", e.Message);
    }

    [Fact]
    public void Int4SevenBHoldsEachMatrixInHalfAByteAWeightAndAScalePerGroup()
    {
        var cfg = Released7BD();
        long int8, int4, expected, parameters;
        using (var m8 = new MolmoForCausalLM(cfg, new ModelPlacement(ScalarType.BFloat16, META, Int8Decoder: true)))
        {
            int8 = MemoryBudget.WeightBytes(m8);
            parameters = m8.ParameterCount;
            // Each int8 matrix [N, K] with its N float32 scales becomes N·K/2 bytes and N·K/64 float32 scales.
            var matrices = m8.named_parameters().Where(p => p.parameter.dtype == ScalarType.Int8).Select(p => (N: p.parameter.shape[0], K: p.parameter.shape[1])).ToList();
            Assert.NotEmpty(matrices);
            expected = int8 - matrices.Sum(w => w.N * w.K + 4 * w.N) + matrices.Sum(w => w.N * w.K / 2 + 4 * w.N * (w.K / 64));
        }
        using (var m4 = new MolmoForCausalLM(cfg, new ModelPlacement(ScalarType.BFloat16, META) { Int4Decoder = true }))
        {
            int4 = MemoryBudget.WeightBytes(m4);
            Assert.Equal(parameters, m4.ParameterCount);   // the checkpoint's parameters, two a byte
        }
        Assert.Equal(expected, int4);
        // Only int4 fits: the advice names it alone.
        var e = Assert.Throws<InsufficientMemoryException>(() =>
            MemoryBudget.EnsureFits(cfg, new ModelPlacement(ScalarType.BFloat16, CPU), 2 * int8, int4 + 1));
        Assert.Contains($"--dtype int4 ({int4 / 1e9:F1} GB)", e.Message);
        Assert.DoesNotContain("--dtype int8 (", e.Message);
    }

    [Fact]
    public void FittingGpuOrUnknownBudgetsPass()
    {
        var cfg = Released7BD();
        long bf16 = Bytes(cfg, new ModelPlacement(ScalarType.BFloat16, META));
        MemoryBudget.EnsureFits(cfg, new ModelPlacement(ScalarType.BFloat16, CPU), bf16, bf16);    // fits exactly
        MemoryBudget.EnsureFits(cfg, new ModelPlacement(ScalarType.BFloat16, META), bf16, 1);      // not the CPU
        MemoryBudget.EnsureFits(cfg, new ModelPlacement(ScalarType.BFloat16, CPU), bf16, null);    // unknown
        if (OperatingSystem.IsLinux()) Assert.True(MemoryBudget.AvailableBytes() > 0);
    }
}
