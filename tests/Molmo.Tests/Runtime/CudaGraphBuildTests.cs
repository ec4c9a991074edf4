using Molmo.TestSupport;

namespace Molmo.Tests.Runtime;

/// <summary>
/// The CUDA graph shim's build, against a stand-in for a Python torch install (torch/lib, torch/include, the nvidia-* wheels)
/// and a stand-in compiler that records its arguments: what it is compiled and linked against, that it is cached, and that a
/// failure says why. (Compiling it for real needs libtorch's headers and CUDA, which only a GPU machine here has.)
/// </summary>
public class CudaGraphBuildTests
{
    static (string TorchLib, string Cache, string Cxx, string ArgsLog) FakeInstall(bool cxx11Abi, bool compilerFails = false, bool cxx20Fails = false)
    {
        var root = TestPaths.NewTempDir();
        var site = Path.Combine(root, "site-packages");
        var torchLib = Path.Combine(site, "torch", "lib");
        Directory.CreateDirectory(torchLib);
        File.WriteAllText(Path.Combine(torchLib, "libc10.so"), cxx11Abi ? "...NSt7__cxx1112basic_string..." : "...Ss...");
        Directory.CreateDirectory(Path.Combine(site, "torch", "include", "ATen", "cuda"));
        File.WriteAllText(Path.Combine(site, "torch", "include", "ATen", "cuda", "CUDAGraph.h"), "");
        var runtime = Path.Combine(site, "nvidia", "cuda_runtime");
        Directory.CreateDirectory(Path.Combine(runtime, "include"));
        File.WriteAllText(Path.Combine(runtime, "include", "cuda_runtime_api.h"), "");
        Directory.CreateDirectory(Path.Combine(runtime, "lib"));
        File.WriteAllText(Path.Combine(runtime, "lib", "libcudart.so.13"), "");
        var log = Path.Combine(root, "args.log");
        // The stand-in compiler writes its arguments, one a line, and the -o output (or fails like a compiler).
        var cxx = Path.Combine(root, "fake-g++");
        // (With cxx20Fails, it fails as torch 2.11's headers might under C++20, and builds under C++17.)
        File.WriteAllText(cxx, compilerFails
            ? "#!/bin/sh\necho 'molmo_cuda_graph.cpp:5:10: fatal error: ATen/cuda/CUDAEvent.h: No such file or directory' >&2\nexit 1\n"
            : "#!/bin/sh\n" +
              (cxx20Fails ? "if [ \"$1\" = -std=c++20 ]; then echo 'c10/util/Foo.h:1:1: error: not valid in C++20' >&2; exit 1; fi\n" : "") +
              $"for a in \"$@\"; do echo \"$a\" >> '{log}'; done\nwhile [ $# -gt 0 ]; do if [ \"$1\" = -o ]; then echo built > \"$2\"; fi; shift; done\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(cxx, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return (torchLib, Path.Combine(root, "cache"), cxx, log);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void BuildsAgainstTheTorchInUseOnceAndCachesIt(bool cxx11Abi)
    {
        var (torchLib, cache, cxx, log) = FakeInstall(cxx11Abi);
        var built = CudaGraphBuild.EnsureBuilt(torchLib, cxx, cache);
        Assert.StartsWith(cache, built);
        Assert.Equal("built\n", File.ReadAllText(built));
        var args = File.ReadAllLines(log);
        Assert.Contains($"-D_GLIBCXX_USE_CXX11_ABI={(cxx11Abi ? 1 : 0)}", args);
        Assert.Equal("-std=c++20", args[0]);   // what torch 2.12 and later need
        var include = Path.GetFullPath(Path.Combine(torchLib, "..", "include"));
        Assert.Contains(include, args);
        Assert.Contains(Path.GetFullPath(Path.Combine(torchLib, "..", "..", "nvidia", "cuda_runtime", "include")), args);
        foreach (var lib in new[] { "-lc10", "-lc10_cuda", "-ltorch_cpu", "-ltorch_cuda" }) Assert.Contains(lib, args);
        Assert.Contains(args, a => a.EndsWith("libcudart.so.13", StringComparison.Ordinal));
        Assert.Contains($"-Wl,-rpath,{torchLib}", args);
        // The embedded source is what was compiled (it is written to the cache, compiled, then removed).
        Assert.Contains(args, a => a.EndsWith(".cpp", StringComparison.Ordinal));
        Assert.Contains("at::cuda::CUDAGraph", CudaGraphBuild.ReadSource());
        // Cached: a second call does not compile again.
        int lines = args.Length;
        Assert.Equal(built, CudaGraphBuild.EnsureBuilt(torchLib, cxx, cache));
        Assert.Equal(lines, File.ReadAllLines(log).Length);
    }

    [Theory]
    [InlineData("-std=c++20")]
    [InlineData("-std=c++17")]
    public void TheShimsSourceIsValidAgainstTheApiItUses(string std)
    {
        // The embedded source, compiled for syntax against stand-ins with the real signatures of what it calls (ShimApi/):
        // an edit that breaks it fails here, not first on a GPU machine.
        var dir = TestPaths.NewTempDir();
        var src = Path.Combine(dir, "shim.cpp");
        File.WriteAllText(src, CudaGraphBuild.ReadSource());
        var psi = new System.Diagnostics.ProcessStartInfo("g++") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { std, "-fsyntax-only", "-Wall", "-Werror", "-I", Path.Combine(TestPaths.Repo, "tests", "Molmo.Tests", "Runtime", "ShimApi"), src })
            psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, err);
    }

    [Fact]
    public void HeadersThatDoNotBuildAsCxx20AreBuiltAsCxx17()
    {
        var (torchLib, cache, cxx, log) = FakeInstall(true, cxx20Fails: true);
        var built = CudaGraphBuild.EnsureBuilt(torchLib, cxx, cache);
        Assert.True(File.Exists(built));
        Assert.Equal("-std=c++17", File.ReadAllLines(log)[0]);
    }

    [Fact]
    public void WhatIsMissingIsSaid()
    {
        var (torchLib, cache, cxx, _) = FakeInstall(true, compilerFails: true);
        var failed = Assert.Throws<InvalidOperationException>(() => CudaGraphBuild.EnsureBuilt(torchLib, cxx, cache));
        Assert.Contains("CUDAEvent.h: No such file", failed.Message);
        Assert.Empty(Directory.GetFiles(cache, "*.so"));   // nothing half-built is left to be loaded later

        Assert.Contains("MOLMO_LIBTORCH", Assert.Throws<InvalidOperationException>(() => CudaGraphBuild.EnsureBuilt(null, cxx, cache)).Message);
        Assert.Contains("C++ compiler", Assert.Throws<InvalidOperationException>(() =>
            CudaGraphBuild.EnsureBuilt(FakeInstall(true).TorchLib, "/nonexistent/g++", cache)).Message);
        var noHeaders = FakeInstall(true).TorchLib;
        File.Delete(Path.Combine(noHeaders, "..", "include", "ATen", "cuda", "CUDAGraph.h"));
        Assert.Contains("C++ headers", Assert.Throws<InvalidOperationException>(() => CudaGraphBuild.EnsureBuilt(noHeaders, cxx, cache)).Message);
    }
}
