using System.Diagnostics;
using System.Globalization;
using System.IO.MemoryMappedFiles;
using Molmo.Checkpoints;
using Molmo.Model;
using Molmo.Runtime;
using static TorchSharp.torch;

namespace Molmo.Bench;

/// <summary>
/// Loading a checkpoint into a CPU model: the engine's loader (positional reads straight into the parameters, several at a
/// time; conversions two at a time; int8 quantised on one thread while the next tensor is read) against the loader it
/// replaced, kept here as the baseline (each tensor copied out of a memory mapping of its file, one after another,
/// converted or quantised through a temporary where the dtypes differ). Both load the
/// same model; with <c>--cold</c> (root only) the page cache is dropped before each load, as after a reboot or when the
/// model is larger than the memory left for the cache. Rounds alternate the two. Usage:
/// <c>load --weights DIR [--dtype bf16|fp32|int8|int4] [--rounds 2] [--cold] [--quantised DIR2]</c> (weights: e.g. a folder the
/// model benchmark wrote). With <c>--quantised</c> (int8, int4 or bf16), the folder <c>molmo quantize</c> wrote from DIR is
/// loaded against DIR quantised (or converted) while loading.
/// </summary>
public static class LoadBench
{
    public static int Run(string[] args)
    {
        var a = Args.Parse(args);
        var dir = a.Get("--weights", null) ?? throw new ArgumentException("load needs --weights DIR (a checkpoint folder)");
        var placement = TorchRuntime.ParsePlacement(a.Get("--dtype", "bf16")!, CPU);
        int rounds = int.Parse(a.Get("--rounds", "2")!, CultureInfo.InvariantCulture);
        bool cold = a.Has("--cold");
        if (a.Get("--quantised", null) is { } quantised) return AgainstQuantisingWhileLoading(dir, quantised, placement, rounds, cold);
        if (placement.Int4Decoder) throw new ArgumentException("the memory-mapped baseline has no int4: compare int4 with --quantised DIR2");
        Console.WriteLine($"CPU: {MachineInfo.Cpu()}");
        using (var ck = Checkpoint.Open(dir))
            Console.WriteLine($"{dir}: {ck.TotalBytes / 1e9:F2} GB in {ck.Files.Count} file(s), {string.Join("/", ck.TensorNames.Select(n => ck.Entry(n).DType).Distinct())}, " +
                              $"into a {TorchRuntime.PlacementName(placement)} model{(cold ? ", page cache dropped before each load" : "")}");
        var engine = new List<double>();
        var baseline = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            baseline.Add(Time(cold, () =>
            {
                var cfg = MolmoConfig.Load(dir);
                using var model = new MolmoForCausalLM(cfg, placement);
                using var ck = Checkpoint.Open(dir);
                MappedLoad(model, ck);
            }));
            engine.Add(Time(cold, () => ModelLoader.Load(dir, placement).Dispose()));
            Console.Error.WriteLine($"round {r + 1}: engine {engine[^1]:F1} s, baseline {baseline[^1]:F1} s");
        }
        Console.WriteLine();
        Console.WriteLine($"| loader ({(cold ? "cold page cache" : "as the page cache is")}) | seconds per load ({rounds} rounds) |");
        Console.WriteLine("|---|---|");
        string how = placement.Int8Decoder
            ? "the int8 matrices quantised straight into the layers, one at a time while the next is read; the rest 4 at a time"
            : "positional reads straight into the parameters, 4 at a time (conversions 2)";
        Console.WriteLine($"| engine: {how} | {string.Join(", ", engine.Select(x => x.ToString("F1", CultureInfo.InvariantCulture)))} |");
        Console.WriteLine($"| baseline: copies out of a memory mapping, one at a time{(placement.Int8Decoder ? ", each matrix quantised into a temporary" : "")} | {string.Join(", ", baseline.Select(x => x.ToString("F1", CultureInfo.InvariantCulture)))} |");
        return 0;
    }

    /// <summary>A folder of quantised (or bf16) weights (<c>molmo quantize</c>) against quantising (converting) the float
    /// checkpoint while loading.</summary>
    static int AgainstQuantisingWhileLoading(string source, string quantised, ModelPlacement placement, int rounds, bool cold)
    {
        string name = TorchRuntime.PlacementName(placement);
        string doing = placement.Int8Decoder || placement.Int4Decoder ? "quantised" : "converted";
        using (var ck = Checkpoint.Open(source))
        using (var q = Checkpoint.Open(quantised))
            Console.WriteLine($"{name}: {quantised} ({q.TotalBytes / 1e9:F2} GB in {q.Files.Count} file(s)) against {source} ({ck.TotalBytes / 1e9:F2} GB) {doing} while loading{(cold ? ", page cache dropped before each load" : "")}");
        var folder = new List<double>();
        var whileLoading = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            whileLoading.Add(Time(cold, () => ModelLoader.Load(source, placement).Dispose()));
            folder.Add(Time(cold, () => ModelLoader.Load(quantised, placement).Dispose()));
            Console.Error.WriteLine($"round {r + 1}: the folder {folder[^1]:F1} s, {doing} while loading {whileLoading[^1]:F1} s");
        }
        Console.WriteLine();
        Console.WriteLine($"| {name} model from ({(cold ? "cold page cache" : "as the page cache is")}) | seconds per load ({rounds} rounds) |");
        Console.WriteLine("|---|---|");
        Console.WriteLine($"| the folder molmo quantize wrote (positional reads straight into the parameters) | {string.Join(", ", folder.Select(x => x.ToString("F1", CultureInfo.InvariantCulture)))} |");
        Console.WriteLine($"| baseline: the float checkpoint, {doing} while loading | {string.Join(", ", whileLoading.Select(x => x.ToString("F1", CultureInfo.InvariantCulture)))} |");
        return 0;
    }

    static double Time(bool cold, Action load)
    {
        if (cold) DropPageCache();
        var sw = Stopwatch.StartNew();
        load();
        double s = sw.Elapsed.TotalSeconds;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return s;
    }

    static void DropPageCache()
    {
        try
        {
            using (var p = Process.Start("sync")) p?.WaitForExit();
            File.WriteAllText("/proc/sys/vm/drop_caches", "1");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
        {
            throw new InvalidOperationException($"--cold drops the page cache, which needs root ({e.Message})");
        }
    }

    /// <summary>The loader before positional reads: every tensor copied out of a view of the file's mapping, in file order.</summary>
    static unsafe void MappedLoad(MolmoForCausalLM model, Checkpoint ck)
    {
        using var noGrad = no_grad();
        var all = model.named_parameters().ToDictionary(x => x.name, x => (Tensor)x.parameter);
        var maps = ck.Files.ToDictionary(f => f.Path, f => MemoryMappedFile.CreateFromFile(f.Path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read));
        try
        {
            foreach (var (name, p) in all.Where(x => ck.Contains(x.Key)).OrderBy(x => ck.Entry(x.Key).Begin))
            {
                var e = ck.Entry(name);
                using var view = maps[ck.FileOf(name).Path].CreateViewAccessor(e.Begin, e.ByteLength, MemoryMappedFileAccess.Read);
                byte* src = null;
                view.SafeMemoryMappedViewHandle.AcquirePointer(ref src);
                try
                {
                    var stored = SafetensorsDType.ToScalarType(e.DType);
                    using var raw = stored == p.dtype ? null : empty(e.Shape, stored);
                    Buffer.MemoryCopy(src + view.PointerOffset, (byte*)NativeTensor.DataPointer(raw ?? p), e.ByteLength, e.ByteLength);
                    if (all.TryGetValue(name + "_scale", out var scale))
                    {
                        var (q, sc) = Int8Quantizer.Quantize(raw!);
                        using (q) using (sc) { p.copy_(q); scale.copy_(sc); }
                    }
                    else if (raw is not null) p.copy_(raw);
                }
                finally { view.SafeMemoryMappedViewHandle.ReleasePointer(); }
            }
        }
        finally { foreach (var m in maps.Values) m.Dispose(); }
    }
}
