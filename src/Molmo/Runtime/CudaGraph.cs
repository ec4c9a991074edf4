using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using static TorchSharp.torch;

namespace Molmo.Runtime;

/// <summary>
/// A CUDA graph of one piece of libtorch work: recorded once, then replayed with one launch instead of issuing its ops one
/// by one from C# (a 7B-D decode step is ~1,000 ops at 6–25 µs of host time each on an H100, more than the GPU needs to
/// run them). TorchSharp 0.107 binds no CUDA graphs, so a small C++ shim over libtorch's own <c>at::cuda::CUDAGraph</c>
/// (Runtime/Native/molmo_cuda_graph.cpp) is compiled on first use against the libtorch this process runs on — the one in
/// <c>MOLMO_LIBTORCH</c> (docs/gpu.md) — with the machine's C++ compiler and CUDA headers, and cached.
/// What is recorded must keep its shapes and buffers from one replay to the next and must not read anything back to the host.
/// </summary>
public sealed unsafe class CudaGraph : IDisposable
{
    nint _handle;

    CudaGraph(nint handle) => _handle = handle;

    /// <summary>Records <paramref name="work"/> after <paramref name="warmups"/> plain runs on the recording stream (libtorch
    /// sets up per-stream state such as cuBLAS workspaces on first use, which must not happen while recording).</summary>
    public static CudaGraph Record(Device device, Action work, int warmups = 2)
    {
        if (device.type != TorchSharp.DeviceType.CUDA) throw new InvalidOperationException("CUDA graphs need a CUDA device");
        var lib = Shim.Value;
        if (lib.Error is not null) throw new InvalidOperationException(lib.Error);
        return Record(lib, work, warmups);
    }

    /// <summary>
    /// Whether this thread's stream is capturing a graph now (not during the warm-ups before it). Nothing may then wait for
    /// the device or load code onto it: work that would (<see cref="CudaQuantGemv"/>'s first use, which compiles and checks its
    /// kernel) must have happened in the warm-ups.
    /// </summary>
    internal static bool Capturing { get => _capturing; private set => _capturing = value; }
    [ThreadStatic] static bool _capturing;

    /// <summary>
    /// The CUDA stream libtorch issues onto now on this thread (cudaStream_t): a graph's side stream while it records or warms
    /// up, else the default stream (0). Without the shim loaded nothing can have changed libtorch's stream, so 0.
    /// </summary>
    internal static nint CurrentStream() =>
        Shim.IsValueCreated && Shim.Value is { Error: null } lib ? lib.CurrentStream() : 0;

    static CudaGraph Record(Library lib, Action work, int warmups)
    {
        var h = lib.New();
        if (h == 0) throw new InvalidOperationException($"could not create a CUDA graph: {lib.LastError()}");
        var graph = new CudaGraph(h);
        try
        {
            lib.Check(lib.UseSideStream(h, 1), "switching to the recording stream");
            try { for (int i = 0; i < warmups; i++) work(); }
            finally { lib.Check(lib.UseSideStream(h, 0), "switching back from the recording stream"); }
            lib.Check(lib.Begin(h), "starting to record");
            Capturing = true;
            try { work(); }
            catch
            {
                lib.End(h);   // the stream must leave capture mode whatever happened
                throw;
            }
            finally { Capturing = false; }
            lib.Check(lib.End(h), "recording");
            return graph;
        }
        catch
        {
            graph.Dispose();
            throw;
        }
    }

    /// <summary>Launches the recorded work on the current stream.</summary>
    public void Replay()
    {
        ObjectDisposedException.ThrowIf(_handle == 0, this);
        Shim.Value.Check(Shim.Value.Replay(_handle), "replaying");
    }

    public void Dispose()
    {
        if (_handle != 0) Shim.Value.Free(_handle);
        _handle = 0;
    }

    /// <summary>Why the last decoding that asked for CUDA graphs went on without them (null: none has had to), for reports.</summary>
    public static string? LastFallbackReason { get; internal set; }

    /// <summary>Why CUDA graphs cannot be used here, or null when they can (builds the shim on first call).</summary>
    public static string? Unavailable(Device device) =>
        device.type != TorchSharp.DeviceType.CUDA ? "CUDA graphs need a CUDA device" : Shim.Value.Error;

    static readonly Lazy<Library> Shim = new(Library.Load);

    sealed class Library
    {
        public string? Error;
        public delegate* unmanaged<nint> New;
        public delegate* unmanaged<nint, int, int> UseSideStream;
        public delegate* unmanaged<nint, int> Begin, End, Replay;
        public delegate* unmanaged<nint, void> Free;
        public delegate* unmanaged<nint> CurrentStream;
        delegate* unmanaged<nint> _lastError;

        public string LastError() => Marshal.PtrToStringUTF8(_lastError()) ?? "";

        public void Check(int rc, string what)
        {
            if (rc != 0) throw new InvalidOperationException($"CUDA graph: {what} failed: {LastError()}");
        }

        public static Library Load()
        {
            var lib = new Library();
            try
            {
                var path = CudaGraphBuild.EnsureBuilt();
                var h = NativeLibrary.Load(path);
                nint F(string name) => NativeLibrary.GetExport(h, name);
                lib.New = (delegate* unmanaged<nint>)F("molmo_graph_new");
                lib.UseSideStream = (delegate* unmanaged<nint, int, int>)F("molmo_graph_use_side_stream");
                lib.Begin = (delegate* unmanaged<nint, int>)F("molmo_graph_begin");
                lib.End = (delegate* unmanaged<nint, int>)F("molmo_graph_end");
                lib.Replay = (delegate* unmanaged<nint, int>)F("molmo_graph_replay");
                lib.Free = (delegate* unmanaged<nint, void>)F("molmo_graph_free");
                lib.CurrentStream = (delegate* unmanaged<nint>)F("molmo_current_stream");
                lib._lastError = (delegate* unmanaged<nint>)F("molmo_graph_last_error");
            }
            catch (Exception e) when (e is InvalidOperationException or DllNotFoundException or EntryPointNotFoundException or IOException or BadImageFormatException)
            {
                lib.Error = e.Message;
            }
            return lib;
        }
    }
}

/// <summary>
/// Compiles Runtime/Native/molmo_cuda_graph.cpp against the libtorch in <c>MOLMO_LIBTORCH</c> (a Python torch's
/// <c>torch/lib</c>, whose headers are in <c>torch/include</c>) and caches the library under <c>~/.cache/molmo</c>
/// (<c>MOLMO_CACHE</c> to move it), keyed by the source and that libtorch. Needs a C++17 compiler (<c>CXX</c>, else g++) and
/// the CUDA runtime headers (<c>CUDA_HOME</c>, /usr/local/cuda, or the nvidia-* wheels beside torch).
/// </summary>
public static class CudaGraphBuild
{
    const string SourceName = "molmo_cuda_graph.cpp";

    public static string EnsureBuilt() => EnsureBuilt(Environment.GetEnvironmentVariable("MOLMO_LIBTORCH"),
        Environment.GetEnvironmentVariable("CXX"), Environment.GetEnvironmentVariable("MOLMO_CACHE"));

    /// <summary>The shim's path, built if not cached: against <paramref name="torchLib"/>, with <paramref name="cxx"/> (null:
    /// g++), cached in <paramref name="cacheDir"/> (null: ~/.cache/molmo, or under XDG_CACHE_HOME).</summary>
    public static string EnsureBuilt(string? torchLib, string? cxx, string? cacheDir)
    {
        if (string.IsNullOrEmpty(torchLib) || !Directory.Exists(torchLib))
            throw new InvalidOperationException("CUDA graphs need MOLMO_LIBTORCH set to the CUDA libtorch in use (e.g. Python torch's torch/lib; docs/gpu.md)");
        var include = Path.GetFullPath(Path.Combine(torchLib, "..", "include"));
        if (!File.Exists(Path.Combine(include, "ATen", "cuda", "CUDAGraph.h")))
            throw new InvalidOperationException($"CUDA graphs need libtorch's C++ headers, not found at {include} (a Python torch install has them)");
        var c10 = Path.Combine(torchLib, "libc10.so");
        if (!File.Exists(c10)) throw new InvalidOperationException($"no libc10.so in {torchLib}");
        var source = ReadSource();
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(
            $"{source}\n{Path.GetFullPath(torchLib)}\n{new FileInfo(c10).Length}\n{File.GetLastWriteTimeUtc(c10):O}")))[..16].ToLowerInvariant();
        var cache = cacheDir is { Length: > 0 } mc ? mc
            : Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? x
                           : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "molmo");
        var output = Path.Combine(cache, $"libmolmo_cuda_graph-{key}.so");
        if (File.Exists(output)) return output;

        Directory.CreateDirectory(cache);
        var src = Path.Combine(cache, $"{SourceName}.{key}.cpp");
        var cudaIncludes = CudaIncludeDirs(torchLib);
        if (cudaIncludes.Count == 0)
            throw new InvalidOperationException("CUDA graphs need the CUDA runtime headers (cuda_runtime_api.h): set CUDA_HOME, or install the CUDA toolkit");
        File.WriteAllText(src, source);
        var args = new List<string> { "-O2", "-shared", "-fPIC", "-w", $"-D_GLIBCXX_USE_CXX11_ABI={(UsesCxx11Abi(c10) ? 1 : 0)}",
                                      "-I", include, "-I", Path.Combine(include, "torch", "csrc", "api", "include") };
        foreach (var d in cudaIncludes) { args.Add("-I"); args.Add(d); }
        var temp = output + $".{Environment.ProcessId}.tmp";
        args.AddRange([src, "-o", temp, "-L", torchLib, "-lc10", "-lc10_cuda", "-ltorch_cpu", "-ltorch_cuda", $"-Wl,-rpath,{torchLib}"]);
        // The CUDA runtime the shim's inline CUDA calls need: linked by its file, so that the loader reuses the copy libtorch
        // already loaded (same soname).
        if (CudaRuntimeLibrary(torchLib) is { } cudart) args.AddRange([cudart, $"-Wl,-rpath,{Path.GetDirectoryName(cudart)}"]);
        cxx = cxx is { Length: > 0 } ? cxx : "g++";
        Console.Error.WriteLine($"building the CUDA graph shim for this libtorch ({cxx}, once; cached in {cache})…");
        try
        {
            // torch 2.12 and later need C++20 for their headers; earlier ones are written for C++17 (and may not build as
            // C++20): the newer first, then the older.
            var failures = new List<string>();
            foreach (var std in new[] { "-std=c++20", "-std=c++17" })
            {
                var psi = new ProcessStartInfo(cxx) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
                psi.ArgumentList.Add(std);
                foreach (var a in args) psi.ArgumentList.Add(a);
                if (Compile(psi, cxx) is not { } failure) { failures.Clear(); break; }
                failures.Add($"{std}: {failure}");
            }
            if (failures.Count > 0) throw new InvalidOperationException($"building the CUDA graph shim failed ({string.Join("; ", failures)})");
            File.Move(temp, output, overwrite: true);
        }
        finally
        {
            File.Delete(temp);   // nothing half-built is left behind
            File.Delete(src);
        }
        return output;
    }

    /// <summary>Runs the compiler; null on success, else its error lines.</summary>
    static string? Compile(ProcessStartInfo psi, string cxx)
    {
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e) { throw new InvalidOperationException($"CUDA graphs need a C++ compiler: could not run {cxx} ({e.Message}); set CXX"); }
        using (p)
        {
            var stderr = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(true); throw new InvalidOperationException("building the CUDA graph shim took over 5 minutes"); }
            if (p.ExitCode == 0) return null;
            var lines = stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            return $"{cxx} exit {p.ExitCode}: {string.Join(" | ", lines.Where(l => l.Contains("error")).Take(3).DefaultIfEmpty(lines.LastOrDefault() ?? ""))}";
        }
    }

    /// <summary>The shim's C++ source (embedded in this assembly).</summary>
    public static string ReadSource()
    {
        using var s = typeof(CudaGraphBuild).Assembly.GetManifestResourceStream(SourceName)
                      ?? throw new InvalidOperationException($"{SourceName} is not embedded in {typeof(CudaGraphBuild).Assembly.GetName().Name}");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    /// <summary>Whether libtorch was built with the C++11 string ABI (its exported names then mention std::__cxx11).</summary>
    internal static bool UsesCxx11Abi(string libc10)
    {
        var bytes = File.ReadAllBytes(libc10);
        return bytes.AsSpan().IndexOf("St7__cxx11"u8) >= 0;
    }

    /// <summary>libcudart: beside libtorch, in the nvidia-* wheels beside a Python torch, or in the CUDA toolkit; null if none.</summary>
    internal static string? CudaRuntimeLibrary(string torchLib)
    {
        var dirs = new List<string> { torchLib };
        dirs.AddRange(NvidiaPackages(torchLib).Select(p => Path.Combine(p, "lib")));
        dirs.AddRange(CudaRoots().Select(r => Path.Combine(r, "lib64")));
        return dirs.Where(Directory.Exists)
                   .SelectMany(d => Directory.EnumerateFiles(d, "libcudart.so*"))
                   .OrderBy(f => Path.GetFileName(f) == "libcudart.so" ? 1 : 0)   // a versioned soname first
                   .FirstOrDefault();
    }

    /// <summary>Folders holding CUDA headers: the toolkit's, else the nvidia-* wheels' beside a Python torch.</summary>
    internal static List<string> CudaIncludeDirs(string torchLib)
    {
        var dirs = new List<string>();
        if (CudaRoots().Select(r => Path.Combine(r, "include")).FirstOrDefault(d => File.Exists(Path.Combine(d, "cuda_runtime_api.h"))) is { } toolkit)
            dirs.Add(toolkit);
        dirs.AddRange(NvidiaPackages(torchLib).Select(p => Path.Combine(p, "include")).Where(Directory.Exists));
        return dirs.Any(d => File.Exists(Path.Combine(d, "cuda_runtime_api.h"))) ? dirs : [];
    }

    /// <summary>The CUDA toolkit's possible roots: CUDA_HOME, CUDA_PATH, /usr/local/cuda.</summary>
    static IEnumerable<string> CudaRoots() =>
        new[] { Environment.GetEnvironmentVariable("CUDA_HOME"), Environment.GetEnvironmentVariable("CUDA_PATH"), "/usr/local/cuda" }
            .Where(r => !string.IsNullOrEmpty(r))!;

    /// <summary>
    /// The nvidia-* wheels' package folders beside a Python torch (site-packages/torch/lib → site-packages/nvidia/&lt;package&gt;,
    /// and nvidia/cuNN/&lt;package&gt; for the CUDA 13 wheels), each holding lib/ and include/.
    /// </summary>
    static IEnumerable<string> NvidiaPackages(string torchLib)
    {
        var nvidia = Path.GetFullPath(Path.Combine(torchLib, "..", "..", "nvidia"));
        if (!Directory.Exists(nvidia)) return [];
        return Directory.EnumerateDirectories(nvidia).SelectMany(p => Directory.EnumerateDirectories(p).Prepend(p)).ToList();
    }
}
