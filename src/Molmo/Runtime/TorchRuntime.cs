using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Molmo.Runtime;

/// <summary>
/// Device and dtype choices made at run time (<c>--device cpu|cuda[:N]</c>, <c>--dtype fp32|bf16</c>). CUDA needs a libtorch
/// built with CUDA: on a machine with Python torch, point <c>MOLMO_LIBTORCH</c> at its <c>torch/lib</c> folder and run a build
/// without the bundled CPU libtorch (see docs/gpu.md); the libraries are preloaded from there before TorchSharp starts.
/// </summary>
public static class TorchRuntime
{
    static readonly object Gate = new();
    static bool _preloaded;

    [DllImport("libc", EntryPoint = "setenv")]
    static extern int SetEnv(string name, string value, int overwrite);

    /// <summary>
    /// Runs when this assembly loads, before libtorch is: asks libtorch's OpenMP runtime (libgomp) to put its idle workers to sleep
    /// at once (<c>OMP_WAIT_POLICY=PASSIVE</c>) instead of spinning for a while after every parallel op. On the CPU a decode step
    /// interleaves small libtorch ops with the engine's own GEMV threads, and spinning OpenMP workers took the cores those
    /// threads needed (7B-D bf16 decode: 1.90 tok/s spinning, 3.53 passive; prefill unchanged). A value the user set is kept.
    /// libgomp reads the variable once, when it is loaded, so it must be in the C environment (setenv), not just .NET's.
    /// It also turns on libtorch's huge pages for large allocations (<see cref="HugePagesVariable"/>), likewise kept as the
    /// user set it.
    /// </summary>
#pragma warning disable CA2255   // a library module initializer on purpose: it must run before any code can load libtorch
    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void ConfigureNativeLibraries()
    {
        if (!OperatingSystem.IsLinux()) return;
        SetDefault("OMP_WAIT_POLICY", "PASSIVE");
        if (TransparentHugePagesAvailable()) HugePagesDefaulted = SetDefault(HugePagesVariable, "1");
    }
#pragma warning restore CA2255

    /// <summary>Whether the kernel offers transparent huge pages to a process that asks (its mode is "always" or "madvise").</summary>
    internal static bool TransparentHugePagesAvailable()
    {
        try { return !File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled").Contains("[never]", StringComparison.Ordinal); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>Whether this process set <see cref="HugePagesVariable"/> (false: unavailable, or the user's value kept).</summary>
    internal static bool HugePagesDefaulted { get; private set; }

    /// <summary>
    /// libtorch's switch (c10's CPU allocator) that puts allocations of 2 MB and more on 2 MB boundaries and asks the kernel
    /// for transparent huge pages there (<c>madvise(MADV_HUGEPAGE)</c>). The module initializer sets it to 1 unless the user
    /// has set it, on Linux where THP is not switched off, so the weights, the KV cache and prefill's activations lie in 2 MB
    /// pages. Streaming a weight matrix then crosses a page every 2 MB instead of every 4 KB: the hardware prefetchers stop
    /// at page boundaries, and TLB misses drop, as do page faults (one per 2 MB). Measured here, alternating with it set to 0:
    /// in the VM's fast memory state the decode kernels read 5–15 % more per second (<c>bench gemv</c>), in its usual one
    /// decode is unchanged (bound by memory either way); a 7B-D bf16 load from a cold page cache took 6.9–8.7 s against
    /// 8.6–13.0 s; prefill and peak memory did not move (docs/benchmarks.md, "Transparent huge pages").
    /// </summary>
    public const string HugePagesVariable = "THP_MEM_ALLOC_ENABLE";

    /// <summary>setenv(name, value) in the C environment (libtorch and libgomp read it there), unless the user set it;
    /// whether it was set.</summary>
    static bool SetDefault(string name, string value)
    {
        if (Environment.GetEnvironmentVariable(name) is not null) return false;
        try
        {
            if (SetEnv(name, value, 0) != 0) return false;
            Environment.SetEnvironmentVariable(name, value);   // .NET's copy too, so that reports (and child processes) see it
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
    }

    /// <summary>Preloads libtorch from <c>$MOLMO_LIBTORCH</c> (once, before any tensor is made). Returns the folder used, if any.</summary>
    public static string? PreloadExternalLibTorch()
    {
        var dir = Environment.GetEnvironmentVariable("MOLMO_LIBTORCH");
        if (string.IsNullOrEmpty(dir)) return null;
        lock (Gate)
        {
            if (_preloaded) return dir;
            if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"MOLMO_LIBTORCH points at {dir}, which does not exist");
            foreach (var lib in new[] { "libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so", "libtorch.so" })
            {
                var path = Path.Combine(dir, lib);
                if (File.Exists(path)) NativeLibrary.Load(path);
            }
            _preloaded = true;
            return dir;
        }
    }

    /// <summary>Most CPU threads <see cref="UseCpuThreads"/> accepts.</summary>
    public const int MaxCpuThreads = 1024;

    /// <summary>CPU threads the model's work uses now: the engine's kernel threads (decode products, attention).</summary>
    public static int CpuThreads => Model.Kernels.CpuGemv.MaxThreads;

    static int _libtorchThreads;     // what UseCpuThreads asked of libtorch; 0 = never asked: each thread keeps libtorch's count
    static int _libtorchDefault;     // libtorch's count before the first UseCpuThreads

    /// <summary>
    /// Sets the CPU threads of the model's work, as <c>--threads N</c> (llama.cpp's <c>-t</c>, Ollama's <c>num_thread</c>,
    /// <c>torch.set_num_threads</c>): the engine's kernel threads (decode products and both attention kernels) and libtorch's
    /// intra-op threads (prefill's matrix products, the vision encoder). The default is every logical CPU the process may use for
    /// the kernels and libtorch's own choice for its ops. Fewer threads leave cores to other work; the outputs do not depend on
    /// the count. Process-wide; disposing the result puts back the counts it replaced.
    /// </summary>
    public static IDisposable UseCpuThreads(int threads)
    {
        if (threads is < 1 or > MaxCpuThreads)
            throw new ArgumentOutOfRangeException(nameof(threads), threads, $"--threads {threads}: give 1 to {MaxCpuThreads} CPU threads");
        lock (Gate)
        {
            if (_libtorchThreads == 0) _libtorchDefault = torch.get_num_threads();
            var saved = (Kernels: Model.Kernels.CpuGemv.MaxThreads, Libtorch: _libtorchThreads == 0 ? _libtorchDefault : _libtorchThreads);
            Model.Kernels.CpuGemv.MaxThreads = threads;
            Volatile.Write(ref _libtorchThreads, threads);
            ApplyCpuThreads();
            return new Restore(() =>
            {
                lock (Gate)
                {
                    Model.Kernels.CpuGemv.MaxThreads = saved.Kernels;
                    Volatile.Write(ref _libtorchThreads, saved.Libtorch);
                    ApplyCpuThreads();
                }
            });
        }
    }

    /// <summary>
    /// Gives libtorch's ops on the calling thread the count <see cref="UseCpuThreads"/> set (nothing when it was never called).
    /// libtorch keeps the count per thread (OpenMP's): <c>set_num_threads</c> changes the calling thread's and that of threads
    /// which have not yet run a parallel op, while a thread-pool thread that ran ops before keeps its own. A .NET program's ops
    /// run on whichever thread an <c>await</c> resumes on, so the model's forward pass calls this first (a P/Invoke that reads
    /// the count; it sets it only when it differs).
    /// </summary>
    public static void ApplyCpuThreads()
    {
        int n = Volatile.Read(ref _libtorchThreads);
        if (n > 0 && torch.get_num_threads() != n) torch.set_num_threads(n);
    }

    sealed class Restore(Action undo) : IDisposable
    {
        Action? _undo = undo;
        public void Dispose() => Interlocked.Exchange(ref _undo, null)?.Invoke();
    }

    /// <summary>Parses a device name and makes sure it can be used; throws a message saying what to do when it cannot.</summary>
    public static Device ParseDevice(string name)
    {
        var n = name.Trim().ToLowerInvariant();
        if (n == "cpu") return CPU;
        if (n == "meta") return META;
        if (n == "cuda" || n.StartsWith("cuda:", StringComparison.Ordinal))
        {
            int index = 0;
            if (n.Length > 5 && !int.TryParse(n[5..], out index))
                throw new ArgumentException($"device '{name}': expected cuda or cuda:N");
            PreloadExternalLibTorch();
            try { torch.InitializeDeviceType(DeviceType.CUDA); }
            catch (Exception e)
            {
                throw new NotSupportedException(
                    $"CUDA is not available ({e.Message.Split('\n')[0]}). This build runs on the CPU libtorch; to use a GPU, set MOLMO_LIBTORCH to a CUDA libtorch folder (e.g. Python torch's torch/lib) — see docs/gpu.md");
            }
            if (!torch.cuda.is_available())
                throw new NotSupportedException("CUDA is not available on this machine (no GPU or no CUDA libtorch); use --device cpu");
            if (index >= torch.cuda.device_count())
                throw new ArgumentException($"device '{name}': only {torch.cuda.device_count()} CUDA device(s) present");
            return new Device(DeviceType.CUDA, index);
        }
        throw new ArgumentException($"unknown device '{name}' (use cpu, cuda or cuda:N)");
    }

    /// <summary>
    /// Placement for a <c>--dtype</c> name: fp32, bf16, int8 (decoder matrices int8 with per-row scales, the rest bf16) or
    /// int4 (decoder matrices int4 with a scale per 64 columns, the rest bf16).
    /// </summary>
    public static Model.ModelPlacement ParsePlacement(string dtype, Device device) => dtype.Trim().ToLowerInvariant() switch
    {
        "int8" or "i8" => new Model.ModelPlacement(ScalarType.BFloat16, device, Int8Decoder: true),
        "int4" or "i4" => new Model.ModelPlacement(ScalarType.BFloat16, device) { Int4Decoder = true },
        _ => new Model.ModelPlacement(ParseDType(dtype), device),
    };

    public static string PlacementName(Model.ModelPlacement p) => p.Int8Decoder ? "int8" : p.Int4Decoder ? "int4" : DTypeName(p.DType);

    /// <summary>fp32 | bf16 (aliases float32, bfloat16).</summary>
    public static ScalarType ParseDType(string name) => name.Trim().ToLowerInvariant() switch
    {
        "fp32" or "float32" or "f32" => ScalarType.Float32,
        "bf16" or "bfloat16" => ScalarType.BFloat16,
        "fp16" or "float16" => throw new NotSupportedException("fp16 is not supported: it is very slow on CPUs; use bf16"),
        _ => throw new ArgumentException($"unknown dtype '{name}' (use fp32, bf16, int8 or int4)"),
    };

    public static string DTypeName(ScalarType t) => t switch
    {
        ScalarType.Float32 => "fp32",
        ScalarType.BFloat16 => "bf16",
        _ => t.ToString(),
    };
}
