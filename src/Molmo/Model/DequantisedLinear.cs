using static TorchSharp.torch;

namespace Molmo.Model;

/// <summary>
/// Prefill-sized products of quantised (int8, int4) matrices on the CPU: the weights dequantised to bf16 for libtorch's GEMM
/// (or, on CPUs where that is slow, <see cref="Float32Gemm"/>) into one buffer kept for the process. A fresh buffer per product (up to 271 MB for 7B-D's FFN) came from a new mapping
/// each time, and the page faults of first touching it cost 7B-D's 749-token prefill about 4 s. Matrices larger than the
/// buffer's limit (the LM head, when every position's logits are asked for) still get their own. Products are serialised on
/// the buffer; each one uses every core anyway.
/// </summary>
internal static class DequantisedLinear
{
    static readonly object ScratchLock = new();
    static Tensor? _scratch;

    /// <summary>Largest matrix (bf16 elements) dequantised into the shared buffer: the FFN matrices of 7B-D (136 M, 271 MB).</summary>
    const long ScratchMaxElements = 160L << 20;

    /// <summary>
    /// x · Wᵀ (+ b) with W [<paramref name="shape"/>] written as bf16 by <paramref name="dequantize"/> into the shared buffer
    /// (or, given null, into a tensor of its own for matrices larger than the buffer's limit).
    /// </summary>
    public static Tensor Forward(Tensor x, long[] shape, Func<Tensor?, Tensor> dequantize, Tensor? bias)
    {
        long count = shape[0] * shape[1];
        if (count > ScratchMaxElements)
        {
            using var w = dequantize(null);
            return Product(x, w, bias);
        }
        lock (ScratchLock)
        {
            if (_scratch is null || _scratch.NumberOfElements < count)
            {
                _scratch?.Dispose();
                _scratch = empty([count], ScalarType.BFloat16).DetachFromDisposeScope();
            }
            using var view = _scratch.narrow(0, 0, count).view(shape);
            dequantize(view);
            return Product(x, view, bias);
        }
    }

    /// <summary>libtorch's bf16 GEMM, or the weights widened to float32 where that is a loop of dot products (<see cref="Float32Gemm"/>).</summary>
    static Tensor Product(Tensor x, Tensor w, Tensor? bias) =>
        Float32Gemm.Enabled && w.device_type == TorchSharp.DeviceType.CPU && !x.requires_grad ? Float32Gemm.Linear(x, w, bias) : nn.functional.linear(x, w, bias);
}
