using System.Globalization;
using Molmo.Model;
using static TorchSharp.torch;

namespace Molmo.Checkpoints;

/// <summary>
/// Checks, before any weight is read, that a model's weights fit in the memory this machine can give: loading the released
/// 7B-D in the default float32 (32 GB) on a 24 GB machine would otherwise run for minutes and end with the kernel's OOM
/// killer. The error names what is needed, what is there, and the dtypes that fit.
/// </summary>
public static class MemoryBudget
{
    /// <summary>Set to <c>1</c> to load anyway (for example with a swap the estimate does not see).</summary>
    public const string SkipVariable = "MOLMO_SKIP_MEMORY_CHECK";

    /// <summary>MemAvailable + SwapFree from /proc/meminfo, in bytes; null where it cannot be read.</summary>
    public static long? AvailableBytes()
    {
        try
        {
            long? avail = null, swap = null;
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal)) avail = Kb(line);
                else if (line.StartsWith("SwapFree:", StringComparison.Ordinal)) swap = Kb(line);
            }
            return avail is null ? null : avail + (swap ?? 0);
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }

        static long Kb(string line) => long.Parse(line.Split(':', 2)[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>Bytes of <paramref name="model"/>'s parameters.</summary>
    public static long WeightBytes(nn.Module model) => model.parameters().Sum(p => p.NumberOfElements * p.ElementSize);

    /// <summary>
    /// Throws <see cref="InsufficientMemoryException"/> when a CPU model's weights (<paramref name="needBytes"/>) exceed
    /// <paramref name="availableBytes"/>; the message lists the placements of <paramref name="config"/> that would fit.
    /// </summary>
    public static void EnsureFits(MolmoConfig config, ModelPlacement placement, long needBytes, long? availableBytes)
    {
        if (placement.Device.type != TorchSharp.DeviceType.CPU || availableBytes is not { } available || needBytes <= available) return;
        if (Environment.GetEnvironmentVariable(SkipVariable) == "1") return;
        var options = new (string Name, ModelPlacement P)[]
        {
            ("fp32", new ModelPlacement(ScalarType.Float32, META)),
            ("bf16", new ModelPlacement(ScalarType.BFloat16, META)),
            ("int8", new ModelPlacement(ScalarType.BFloat16, META, Int8Decoder: true)),
            ("int4", new ModelPlacement(ScalarType.BFloat16, META) { Int4Decoder = true }),
        }.Select(o =>
        {
            using var m = new MolmoForCausalLM(config, o.P);
            return (o.Name, Bytes: WeightBytes(m));
        }).ToArray();
        var fits = options.Where(o => o.Bytes <= available).Select(o => $"--dtype {o.Name} ({Gb(o.Bytes)})").ToArray();
        string advice = fits.Length > 0 ? $"Use {string.Join(" or ", fits)}" : "No dtype fits; use a machine with more memory or a GPU (--device cuda)";
        throw new InsufficientMemoryException(
            $"the model's weights need {Gb(needBytes)} in {Runtime.TorchRuntime.PlacementName(placement)}, but this machine has " +
            $"{Gb(available)} of memory available (MemAvailable + free swap). {advice}, or set {SkipVariable}=1 to load anyway.");
    }

    static string Gb(long bytes) => $"{bytes / 1e9:F1} GB";
}
