using System.Runtime.InteropServices;

namespace Molmo.Bench;

/// <summary>
/// Device memory in use on the current CUDA device (total − free, as nvidia-smi counts it: libtorch's caching allocator
/// included), read through the CUDA runtime that libtorch_cuda already loaded. TorchSharp 0.107 exposes no memory statistics.
/// Null where no CUDA runtime can be found (CPU runs).
/// </summary>
internal static class GpuMemory
{
    delegate int MemGetInfo(out nuint free, out nuint total);
    static MemGetInfo? _fn;
    static bool _looked;

    public static long? UsedBytes()
    {
        if (!_looked)
        {
            _looked = true;
            foreach (var name in new[] { "libcudart.so.12", "libcudart.so.13", "libcudart.so" })
                if (NativeLibrary.TryLoad(name, out var h) && NativeLibrary.TryGetExport(h, "cudaMemGetInfo", out var f))
                {
                    _fn = Marshal.GetDelegateForFunctionPointer<MemGetInfo>(f);
                    break;
                }
        }
        if (_fn is null || _fn(out var free, out var total) != 0) return null;
        return (long)(total - free);
    }
}
