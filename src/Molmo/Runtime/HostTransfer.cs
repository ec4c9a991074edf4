using System.Diagnostics;
using System.Runtime.CompilerServices;
using static TorchSharp.torch;

namespace Molmo.Runtime;

/// <summary>
/// Small host↔device copies that do not stall the host. libtorch's plain copy between pageable host memory and a CUDA device
/// waits for the device's stream to drain (cudaMemcpyAsync followed by a stream sync), so a per-step upload in the middle of
/// issuing a decode step would make the host wait for the previous step to finish on the GPU. Through pinned (page-locked)
/// memory the copy is queued on the stream and the host goes on. On the CPU these are plain tensors and copies.
/// </summary>
public static class HostTransfer
{
    /// <summary>An int64 tensor of <paramref name="values"/> on <paramref name="device"/>; on CUDA queued from pinned memory
    /// without a sync (libtorch's pinned-memory cache keeps the staging block until the copy has run).</summary>
    public static Tensor Int64(long[] values, long[] shape, Device device)
    {
        var host = tensor(values, shape);
        if (device.type == TorchSharp.DeviceType.CPU) return host;
        using (host)
        {
            if (TryPin(host) is not { } pinned) return host.to(device);
            using (pinned) return pinned.to(device, non_blocking: true);
        }
    }

    /// <summary>
    /// <paramref name="t"/> on <paramref name="device"/>. A CPU tensor bound for CUDA goes through pinned memory and is queued
    /// without a sync, so that an upload in the middle of a forward pass (a prompt's crops: 11 MB for 640×480) does not wait for
    /// the work queued before it; anything else is a plain <c>to</c>, which returns <paramref name="t"/> itself when it is
    /// already there. The result is a new tensor (or <paramref name="t"/>), owned by the caller's dispose scope.
    /// </summary>
    public static Tensor ToDevice(Tensor t, Device device)
    {
        // An empty tensor has nothing to queue (and pinning nothing is no test of whether pinning works).
        if (device.type == TorchSharp.DeviceType.CPU || t.device_type != TorchSharp.DeviceType.CPU || t.NumberOfElements == 0) return t.to(device);
        if (TryPin(t.contiguous()) is not { } pinned) return t.to(device);
        using (pinned) return pinned.to(device, non_blocking: true);
    }

    static volatile bool _pinningFailed;

    /// <summary>A pinned copy of a CPU tensor, or null where page-locked memory cannot be had (a container's locked-memory
    /// limit, say): the caller then copies from pageable memory, which is correct but waits for the stream.</summary>
    internal static Tensor? TryPin(Tensor host)
    {
        if (_pinningFailed) return null;
        try { return host.pin_memory(); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _pinningFailed = true;
            Console.Error.WriteLine($"note: pinned host memory is not available ({e.Message.Split('\n')[0]}); device copies will wait for the GPU");
            return null;
        }
    }
}

/// <summary>
/// Reads the ids chosen on the device back to the host without a device sync: each copy is queued into pinned host memory
/// pre-filled with −1 (never an id), and <see cref="Wait"/> polls that memory until the copy has landed. The host can so
/// queue the next decode step before reading this step's ids (the CUDA path has no events in TorchSharp 0.107 to wait on one
/// copy instead of the whole stream). Two slots: the step being read and the step in flight.
/// </summary>
public sealed unsafe class TokenReadback : IDisposable
{
    readonly Tensor[] _slots;
    readonly bool _async;

    public TokenReadback(int rows, Device device)
    {
        _async = device.type != TorchSharp.DeviceType.CPU;
        _slots = new Tensor[2];
        for (int i = 0; i < 2; i++)
        {
            var t = empty(rows, ScalarType.Int64);
            if (_async && HostTransfer.TryPin(t) is { } pinned) { t.Dispose(); t = pinned; }
            else _async = false;   // pageable memory: the copy below is then a plain (waiting) copy
            _slots[i] = t;
        }
    }

    long* Ptr(int slot) => (long*)Molmo.Checkpoints.NativeTensor.DataPointer(_slots[slot]);

    /// <summary>Queues the copy of <paramref name="ids"/> ([rows] int64 on the device) into <paramref name="slot"/>.</summary>
    public void Enqueue(int slot, Tensor ids)
    {
        var dst = _slots[slot];
        new Span<long>(Ptr(slot), (int)dst.shape[0]).Fill(-1);
        dst.copy_(ids.view(-1), _async);
    }

    /// <summary>The ids of <paramref name="slot"/>, waiting for their copy to land.</summary>
    public long[] Wait(int slot)
    {
        long* p = Ptr(slot);
        int n = (int)_slots[slot].shape[0];
        var result = new long[n];
        var clock = Stopwatch.StartNew();
        var spin = new SpinWait();
        for (int i = 0; i < n; i++)
        {
            long v;
            while ((v = Volatile.Read(ref Unsafe.AsRef<long>(p + i))) < 0)
            {
                if (clock.Elapsed.TotalSeconds > 5)
                {
                    // A long step (a huge prefill queued before it) or an error on the device: wait for the stream
                    // itself, which also reports a device error, then read once more.
                    if (_async) cuda.synchronize();
                    v = Volatile.Read(ref Unsafe.AsRef<long>(p + i));
                    if (v < 0) throw new InvalidOperationException("a token id copied from the device never arrived");
                    break;
                }
                // Spin, never sleep: a step takes milliseconds, and Sleep(1) (SpinWait's default after a while) oversleeps
                // by a millisecond or more, which is what a GPU-bound step would then lose every time.
                spin.SpinOnce(sleep1Threshold: -1);
            }
            result[i] = v;
        }
        return result;
    }

    public void Dispose() { foreach (var t in _slots) t.Dispose(); }
}
