using System.Globalization;

namespace Molmo.Bench;

/// <summary>
/// One line naming the CPU a figure was measured on. The project's VMs are not all the same part (Zen 4 and Zen 5 EPYCs have
/// both been seen), and kernel figures only compare within one.
/// </summary>
public static class MachineInfo
{
    public static string Cpu()
    {
        try
        {
            var info = File.ReadAllLines("/proc/cpuinfo");
            string Field(string name) => info.FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal) && l[name.Length..].TrimStart().StartsWith(':'))
                                              ?.Split(':', 2)[1].Trim() ?? "?";
            string vendor = Field("vendor_id"), modelName = Field("model name");
            int family = int.TryParse(Field("cpu family"), CultureInfo.InvariantCulture, out var f) ? f : -1;
            int model = int.TryParse(Field("model"), CultureInfo.InvariantCulture, out var m) ? m : -1;
            var flags = Field("flags").Split(' ').ToHashSet();
            string core = vendor == "AuthenticAMD" ? family switch
            {
                25 when model is >= 0x10 and < 0x20 or >= 0x60 and < 0x80 or >= 0xA0 and < 0xB0 => " = Zen 4",
                25 => " = Zen 3",
                26 => " = Zen 5",
                _ => "",
            } : "";
            var isa = new[] { "avx512f", "avx512_bf16", "avx512_vnni", "avx2" }.Where(flags.Contains);
            return $"{modelName} (family {family} model {model}{core}), {Environment.ProcessorCount} logical CPUs, " +
                   $"L1d/L2/L3 {Cache(1, "Data")}/{Cache(2, "Unified")}/{Cache(3, "Unified")} per core or shared, {string.Join(" ", isa)}; {KernelRoute()}";
        }
        catch (IOException) { return $"{Environment.ProcessorCount} logical CPUs (no /proc/cpuinfo)"; }
        catch (UnauthorizedAccessException) { return $"{Environment.ProcessorCount} logical CPUs (/proc/cpuinfo unreadable)"; }
    }

    /// <summary>Which instruction sets the engine's CPU kernels take in this process: the CPU's flags above may include
    /// AVX-512 while the runtime has it switched off (DOTNET_EnableAVX512=0, to measure an AVX2 machine's routes).</summary>
    static string KernelRoute()
    {
        string sets = Molmo.Model.Kernels.CpuGemv.InstructionSets;
        string off = sets == "AVX2" && Environment.GetEnvironmentVariable("DOTNET_EnableAVX512") == "0" ? " (AVX-512 switched off: DOTNET_EnableAVX512=0)" : "";
        return $"kernels on {sets}{off}";
    }

    static string Cache(int level, string type)
    {
        foreach (var dir in Directory.EnumerateDirectories("/sys/devices/system/cpu/cpu0/cache", "index*"))
        {
            string Read(string f) => File.Exists(Path.Combine(dir, f)) ? File.ReadAllText(Path.Combine(dir, f)).Trim() : "";
            if (Read("level") == level.ToString(CultureInfo.InvariantCulture) && Read("type") == type) return Read("size");
        }
        return "?";
    }
}
