using System.Diagnostics;
using Molmo.Model;
using static TorchSharp.torch;

namespace Molmo.Checkpoints;

/// <summary>Builds a model from a checkpoint directory (config.json + safetensors) in the requested dtype and device.</summary>
public static class ModelLoader
{
    public static MolmoForCausalLM Load(string dir, ScalarType dtype, Device device, IProgress<LoadProgress>? progress = null,
                                        CancellationToken ct = default)
        => Load(dir, new ModelPlacement(dtype, device), progress, ct);

    public static MolmoForCausalLM Load(string dir, ModelPlacement placement, IProgress<LoadProgress>? progress = null,
                                        CancellationToken ct = default)
    {
        var config = MolmoConfig.Load(dir);
        // A checkpoint written by `molmo quantize` holds the quantised matrices themselves: only its own placement reads them.
        string placed = Runtime.TorchRuntime.PlacementName(placement);
        if (config.Quantization is { } q && placed != q)
            throw new InvalidDataException($"{dir} holds {q}-quantised weights (written by molmo quantize): load it with --dtype {q}, not {placed}");
        // Open (and validate) the weights before allocating the model, so a broken checkpoint fails fast.
        using var ck = Checkpoint.Open(dir);
        var model = new MolmoForCausalLM(config, placement);   // parameters allocated, not yet touched
        try
        {
            MemoryBudget.EnsureFits(config, placement, MemoryBudget.WeightBytes(model), MemoryBudget.AvailableBytes());
            CheckpointLoader.Load(model, ck, progress, ct);
            model.eval();
            NoteSlowQuantisedCpu(placement);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    static int _slowQuantisedNoted;

    /// <summary>
    /// Says once per process, on stderr, when int8 or int4 weights land on a CPU whose instruction sets the engine's quantised
    /// kernels cannot use (neither AVX2 with FMA nor AVX-512): there every decode step dequantises each matrix for libtorch,
    /// seconds a token for 7B-D, so a user who picked the dtype for speed learns why it is slow.
    /// </summary>
    static void NoteSlowQuantisedCpu(ModelPlacement placement)
    {
        if (placement.Device.type != TorchSharp.DeviceType.CPU || !(placement.Int8Decoder || placement.Int4Decoder)) return;
        bool kernel = placement.Int4Decoder ? Model.Kernels.CpuGemv.SupportsInt4 : Model.Kernels.CpuGemv.IsSupported;
        if (kernel || Interlocked.Exchange(ref _slowQuantisedNoted, 1) != 0) return;
        Console.Error.WriteLine($"note: this CPU has neither AVX2 (with FMA) nor AVX-512, which the {Runtime.TorchRuntime.PlacementName(placement)} kernels need: " +
                                "each decode step dequantises every matrix for libtorch (seconds a token for 7B-D)");
    }

    /// <summary>Peak resident set size of this process so far (VmHWM), in bytes; 0 where /proc is unavailable.</summary>
    public static long PeakRssBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line["VmHWM:".Length..].Trim().Split(' ', '\t')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException) { }
        return 0;
    }

    public static long CurrentRssBytes() => Process.GetCurrentProcess().WorkingSet64;
}
