using System.Collections.Concurrent;
using TorchSharp;

namespace Molmo.Runtime;

/// <summary>
/// The numbers the engine passes to libtorch ops, as Scalars that stay alive. TorchSharp 0.107 turns a number passed as a
/// <see cref="Scalar"/> into a native object that a finalizer frees, and hands libtorch only its handle: a garbage collection
/// at that moment (any thread's) can free it while libtorch reads it, and the op fails or reads another Scalar's value
/// (docs/engine.md, "Scalars and the garbage collector"). The model and generation code pass Scalars from here, and keep
/// off the TorchSharp overloads that make such temporaries themselves (<c>a + b</c> passes <c>alpha = 1</c> that way):
/// <c>ScalarTemporaryTests</c> reads the engine's IL for both.
/// </summary>
public static class Scalars
{
    static readonly ConcurrentDictionary<long, Scalar> Integers = new();
    static readonly ConcurrentDictionary<double, Scalar> Reals = new();

    /// <summary>The integer 1: the <c>alpha</c> of additions (what TorchSharp's <c>a + b</c> passes).</summary>
    public static Scalar One { get; } = Of(1L);

    /// <summary>An integer Scalar kept for the process, one per value: for constants and positions, not for arbitrary data.</summary>
    public static Scalar Of(long value) => Integers.GetOrAdd(value, v => v.ToScalar());

    /// <summary>A floating-point Scalar kept for the process, one per value: for the model's constants.</summary>
    public static Scalar Of(double value) => Reals.GetOrAdd(value, v => v.ToScalar());

    /// <summary>A new floating-point Scalar for a value that varies from call to call (a request's temperature): the caller
    /// keeps it alive across the op and disposes it (<c>using var t = Scalars.New(x);</c>).</summary>
    public static Scalar New(double value) => value.ToScalar();

    /// <summary>A new integer Scalar for a value that varies from call to call (a token id), as <see cref="New(double)"/>.</summary>
    public static Scalar New(long value) => value.ToScalar();

    /// <summary><c>arange(start, stop, step)</c> with kept Scalars (TorchSharp's shorter <c>arange</c> overloads make their own).</summary>
    public static torch.Tensor Arange(long start, long stop, torch.ScalarType dtype, torch.Device? device = null, long step = 1) =>
        torch.arange(Of(start), Of(stop), Of(step), dtype, device);
}
