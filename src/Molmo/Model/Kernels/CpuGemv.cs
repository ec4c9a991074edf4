using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Molmo.Checkpoints;
using static TorchSharp.torch;

namespace Molmo.Model.Kernels;

/// <summary>
/// Matrix–vector products for decoding on the CPU: y[m, r] = Σ_k W[r, k]·x[m, k] (+ b[r]) for a handful of input rows m,
/// with bf16 or int8 weights read straight from memory (converted to float32 in registers, never as a whole matrix) and
/// float32 accumulation. A decode step is bound by reading the weights, and libtorch's CPU bf16 path for a single row is
/// an order of magnitude below DRAM bandwidth; this kernel streams each weight row once for all m input rows.
/// </summary>
public static unsafe class CpuGemv
{
    /// <summary>Most input rows the kernel handles; more rows are compute-bound and go to libtorch's GEMM.</summary>
    public const int MaxRows = 8;

    public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>
    /// Threads the kernel splits the rows over. Default: all cores but one — libtorch's OpenMP workers keep spinning for a while
    /// after each of its ops, and on a 2-core machine a second kernel thread only fights them (measured: 2.66 vs 2.50 tok/s
    /// for 7B-D int8 decode with 1 vs 2 threads).
    /// </summary>
    public static int MaxThreads { get; set; } = Math.Max(1, Environment.ProcessorCount - 1);

    /// <summary>x [..., K] (any float dtype) times bf16 weight [N, K] (+ bias [N]) → [..., N] in x's dtype.</summary>
    public static Tensor LinearBf16(Tensor x, Tensor weight, Tensor? bias) => Linear(x, weight, bias, null);

    /// <summary>x [..., K] times int8 weight [N, K] with per-row scales [N] (float32) (+ bias) → [..., N] in x's dtype.</summary>
    public static Tensor LinearInt8(Tensor x, Tensor weightInt8, Tensor scales, Tensor? bias) => Linear(x, weightInt8, bias, scales);

    static Tensor Linear(Tensor x, Tensor weight, Tensor? bias, Tensor? scales)
    {
        long n = weight.shape[0], k = weight.shape[1];
        if (x.shape[^1] != k) throw new ArgumentException($"input width {x.shape[^1]} does not match weight [{n}, {k}]");
        using var scope = NewDisposeScope();
        var xf = x.reshape(-1, k).to(ScalarType.Float32).contiguous();
        long m = xf.shape[0];
        var y = empty([m, n], ScalarType.Float32);
        var bf = bias?.to(ScalarType.Float32).contiguous();
        var sc = scales?.to(ScalarType.Float32).contiguous();
        if (!weight.is_contiguous()) throw new ArgumentException("weight must be contiguous");
        var w = (byte*)NativeTensor.DataPointer(weight);
        var px = (float*)NativeTensor.DataPointer(xf);
        var py = (float*)NativeTensor.DataPointer(y);
        var pb = bf is null ? null : (float*)NativeTensor.DataPointer(bf);
        var ps = sc is null ? null : (float*)NativeTensor.DataPointer(sc);
        Run(w, scales is not null, (int)n, (int)k, px, (int)m, py, pb, ps);
        var shape = x.shape.ToArray();
        shape[^1] = n;
        var result = y.view(shape);
        return (x.dtype == ScalarType.Float32 ? result : result.to(x.dtype)).MoveToOuterDisposeScope();
    }

    /// <summary>Raw kernel: w is [n, k] bf16 (int8 when <paramref name="int8"/>), x [m, k] float32, y [m, n] float32.</summary>
    internal static void Run(byte* w, bool int8, int n, int k, float* x, int m, float* y, float* bias, float* scales)
    {
        if (m > MaxRows) throw new ArgumentException($"at most {MaxRows} input rows");
        int threads = Math.Max(1, Math.Min(MaxThreads, n / 64));
        int per = (n + threads - 1) / threads;
        nint wp = (nint)w, xp = (nint)x, yp = (nint)y, bp = (nint)bias, sp = (nint)scales;
        void Body(int t)
        {
            int r0 = t * per, r1 = Math.Min(n, r0 + per);
            var dots = stackalloc float[MaxRows];
            for (int r = r0; r < r1; r++)
            {
                if (int8) Row<Int8Weights>((byte*)wp + (long)r * k, (float*)xp, k, m, dots);
                else Row<Bf16Weights>((byte*)wp + 2L * r * k, (float*)xp, k, m, dots);
                float s = sp == 0 ? 1f : ((float*)sp)[r];
                float b = bp == 0 ? 0f : ((float*)bp)[r];
                for (int i = 0; i < m; i++) ((float*)yp)[(long)i * n + r] = dots[i] * s + b;
            }
        }
        if (threads == 1) Body(0);
        else Parallel.For(0, threads, Body);
    }

    /// <summary>How one weight format turns into float32 lanes (the JIT specialises <see cref="Row{T}"/> per format).</summary>
    interface IWeights
    {
        static abstract Vector512<float> Load16(byte* row, int j);
        static abstract Vector256<float> Load8(byte* row, int j);
        static abstract float Load1(byte* row, int j);
    }

    /// <summary>bf16 is the top half of a float32: widen each 16-bit value to 32 bits and shift it into place.</summary>
    readonly struct Bf16Weights : IWeights
    {
        public static Vector512<float> Load16(byte* row, int j) =>
            Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512Int32(Avx.LoadVector256((ushort*)row + j)), 16).AsSingle();
        public static Vector256<float> Load8(byte* row, int j) =>
            Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(Sse2.LoadVector128((ushort*)row + j)), 16).AsSingle();
        public static float Load1(byte* row, int j) => BitConverter.Int32BitsToSingle(((ushort*)row)[j] << 16);
    }

    /// <summary>int8: sign-extend to 32 bits and convert (the row's scale is applied once, to the finished dot product).</summary>
    readonly struct Int8Weights : IWeights
    {
        public static Vector512<float> Load16(byte* row, int j) =>
            Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Sse2.LoadVector128((sbyte*)row + j)));
        public static Vector256<float> Load8(byte* row, int j) => Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32((sbyte*)row + j));
        public static float Load1(byte* row, int j) => ((sbyte*)row)[j];
    }

    /// <summary>dots[i] = Σ_j row[j]·x[i, j] for the m input rows, four independent accumulators, float32.</summary>
    static void Row<T>(byte* w, float* x, int k, int m, float* dots) where T : struct, IWeights
    {
        for (int i = 0; i < m; i++)
        {
            float* xi = x + (long)i * k;
            int j = 0;
            float s;
            if (Avx512F.IsSupported)
            {
                var a0 = Vector512<float>.Zero; var a1 = Vector512<float>.Zero; var a2 = Vector512<float>.Zero; var a3 = Vector512<float>.Zero;
                for (; j + 64 <= k; j += 64)
                {
                    a0 = Avx512F.FusedMultiplyAdd(T.Load16(w, j), Avx512F.LoadVector512(xi + j), a0);
                    a1 = Avx512F.FusedMultiplyAdd(T.Load16(w, j + 16), Avx512F.LoadVector512(xi + j + 16), a1);
                    a2 = Avx512F.FusedMultiplyAdd(T.Load16(w, j + 32), Avx512F.LoadVector512(xi + j + 32), a2);
                    a3 = Avx512F.FusedMultiplyAdd(T.Load16(w, j + 48), Avx512F.LoadVector512(xi + j + 48), a3);
                }
                for (; j + 16 <= k; j += 16) a0 = Avx512F.FusedMultiplyAdd(T.Load16(w, j), Avx512F.LoadVector512(xi + j), a0);
                s = Vector512.Sum((a0 + a1) + (a2 + a3));
            }
            else
            {
                var a0 = Vector256<float>.Zero; var a1 = Vector256<float>.Zero; var a2 = Vector256<float>.Zero; var a3 = Vector256<float>.Zero;
                for (; j + 32 <= k; j += 32)
                {
                    a0 = Fma.MultiplyAdd(T.Load8(w, j), Avx.LoadVector256(xi + j), a0);
                    a1 = Fma.MultiplyAdd(T.Load8(w, j + 8), Avx.LoadVector256(xi + j + 8), a1);
                    a2 = Fma.MultiplyAdd(T.Load8(w, j + 16), Avx.LoadVector256(xi + j + 16), a2);
                    a3 = Fma.MultiplyAdd(T.Load8(w, j + 24), Avx.LoadVector256(xi + j + 24), a3);
                }
                for (; j + 8 <= k; j += 8) a0 = Fma.MultiplyAdd(T.Load8(w, j), Avx.LoadVector256(xi + j), a0);
                s = Vector256.Sum((a0 + a1) + (a2 + a3));
            }
            for (; j < k; j++) s += T.Load1(w, j) * xi[j];
            dots[i] = s;
        }
    }
}
