using System.CommandLine;
using Molmo.Runtime;

namespace Molmo.Cli.Commands;

/// <summary>Options shared by the model commands.</summary>
internal static class CommonOptions
{
    public static Option<string> Device() => new("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
    public static Option<string> DType() => new("--dtype") { Description = "fp32, bf16, int8 or int4 (weight-only int8 / int4 decoder matrices, bf16 elsewhere)", DefaultValueFactory = _ => "fp32" };
    public static Option<bool> Force() => new("--force") { Description = "overwrite the output file if it exists" };

    /// <summary>
    /// --threads: CPU threads of the model's work (the engine's kernels and libtorch's ops); unset keeps the defaults (every
    /// logical CPU for the kernels, libtorch's own choice for its ops).
    /// </summary>
    public static Option<int?> Threads()
    {
        var threads = new Option<int?>("--threads")
        {
            Description = "CPU threads for the model (decode kernels and libtorch's ops); default: every logical CPU. Fewer leave cores to other work; answers do not change",
        };
        threads.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is { } n && n is < 1 or > TorchRuntime.MaxCpuThreads)
                r.AddError($"--threads must be between 1 and {TorchRuntime.MaxCpuThreads} (got {n})");
        });
        return threads;
    }

    /// <summary>
    /// Applies --threads for the command's run (null when it was not given), with a note when it asks for more threads than
    /// the process has logical CPUs.
    /// </summary>
    public static IDisposable? ApplyThreads(int? threads)
    {
        if (threads is not { } n) return null;
        if (n > Environment.ProcessorCount)
            Console.Error.WriteLine($"note: --threads {n} is more than the {Environment.ProcessorCount} logical CPUs this process may use; the threads will share them");
        return TorchRuntime.UseCpuThreads(n);
    }

    /// <summary>"2 threads": the CPU threads the model's kernels use now.</summary>
    public static string CpuThreadsText() => TorchRuntime.CpuThreads == 1 ? "1 thread" : $"{TorchRuntime.CpuThreads} threads";

    /// <summary>The CPU's routes as `demo` and `ask --stats` report them: the kernels' instruction sets, whether bf16 GEMMs
    /// run in float32 (CPUs without AVX-512, Molmo.Model.Float32Gemm), and the threads.</summary>
    public static string CpuRoutesText() =>
        $"CPU kernels on {Molmo.Model.Kernels.CpuGemv.InstructionSets}{(Molmo.Model.Float32Gemm.Enabled ? ", bf16 GEMMs in float32" : "")}, {CpuThreadsText()}";

    /// <summary>--batch: how many requests are decoded together (at least 1).</summary>
    public static Option<int> Batch(string description, int defaultValue)
    {
        var batch = new Option<int>("--batch") { Description = description, DefaultValueFactory = _ => defaultValue };
        batch.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) r.AddError("--batch must be at least 1"); });
        return batch;
    }

    /// <summary>Refuses to overwrite an existing file unless --force, so nothing a user had is lost.</summary>
    public static void CheckWritable(string path, bool force)
    {
        if (File.Exists(path) && !force) throw new IOException($"{path} already exists; pass --force to overwrite it");
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null && !Directory.Exists(dir)) throw new DirectoryNotFoundException($"output folder {dir} does not exist");
    }
}
