using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Molmo.Model.Kernels;

/// <summary>
/// A row-major matrix [rows, K] as the packed GEMM reads it while packing, x and weights alike: 8 consecutive values of a row,
/// or one, as float32. Implemented by structs, so that each kind's reads are compiled into its own copy of the packing loops.
/// </summary>
internal interface IMatrixRows
{
    /// <summary>Values [row, col … col + 7] as float32; col is a multiple of 8 and col + 8 ≤ K.</summary>
    Vector256<float> Eight(int row, int col);

    /// <summary>Value [row, col] as float32.</summary>
    float One(int row, int col);
}

public static unsafe partial class CpuGemm
{
    /// <summary>bf16 values [rows, K] (row stride K), widened exactly.</summary>
    internal readonly struct Bf16Rows(ushort* p, int k) : IMatrixRows
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Eight(int row, int col) => CpuGemv.Bf16ToFloat8(p + (long)row * k + col);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float One(int row, int col) => CpuGemv.Bf16ToFloat(p[(long)row * k + col]);
    }

    /// <summary>float32 values [rows, K] (row stride K), as they are.</summary>
    internal readonly struct Float32Rows(float* p, int k) : IMatrixRows
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Eight(int row, int col) => Avx.LoadVector256(p + (long)row * k + col);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float One(int row, int col) => p[(long)row * k + col];
    }

    /// <summary>
    /// int8 weights q [N, K] with a float32 scale a row (<see cref="Int8Quantizer"/>): bf16(q · scale), the bits the one-pass
    /// dequantiser writes. The benchmarks' baseline (<see cref="Float32Gemm.QuantisedAsBf16Weights"/>) since prefill
    /// multiplies integers (<see cref="Int8Pairs"/>).
    /// </summary>
    internal readonly struct Int8Rows(sbyte* q, float* scale, int k) : IMatrixRows
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Eight(int row, int col) =>
            RoundToBf16(Avx.Multiply(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + (long)row * k + col)), Vector256.Create(scale[row])));
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float One(int row, int col) => RoundToBf16(q[(long)row * k + col] * scale[row]);
    }

    /// <summary>
    /// int4 weights packed two to a byte [N, K/2] with a float32 scale per group of g columns [N, K/g], in
    /// <see cref="Int4Quantizer"/>'s layout: chunk c of a row, 2g columns in g bytes, holds group 2c in its bytes' low nibbles
    /// and group 2c + 1 in their high ones. Where a run of columns lies and which scale it takes, for the packing readers
    /// (<see cref="Int4Rows"/>, <see cref="Int4Pairs"/>). g is a power of two, so groups are found by shifts (divisions by g,
    /// 4 for each 8 weights, were most of the packing's work).
    /// </summary>
    internal readonly struct Int4Layout
    {
        readonly byte* _packed;
        readonly float* _scale;
        readonly int _rowBytes, _groups, _shift;

        /// <param name="run">Columns read at a time from a multiple of run: they must lie in one group (g ≥ run).</param>
        public Int4Layout(byte* packed, float* scale, int k, int g, int run)
        {
            if (g < run || !BitOperations.IsPow2(g) || k % (2 * g) != 0) throw new ArgumentException($"int4 groups of {g} columns do not fit rows of {k}");
            _packed = packed;
            _scale = scale;
            (_rowBytes, _groups, _shift, G) = (k / 2, k / g, BitOperations.Log2((uint)g), g);
        }

        /// <summary>Columns a scale.</summary>
        public int G { get; }

        /// <summary>The bytes holding [row, col …] and whether it is in their high nibbles.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public byte* Bytes(int row, int col, out bool high)
        {
            int group = col >> _shift;
            high = (group & 1) == 1;
            return _packed + (long)row * _rowBytes + ((group >> 1) << _shift) + (col & (G - 1));
        }

        /// <summary>Value [row, col].</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int At(int row, int col) => Int4Quantizer.At(_packed + (long)row * _rowBytes, col, G);

        /// <summary>The scale of [row, col]'s group.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float Scale(int row, int col) => _scale[(long)row * _groups + (col >> _shift)];
    }

    /// <summary>int4 weights (<see cref="Int4Layout"/>): bf16(q · scale), as <see cref="Int8Rows"/>; g ≥ 8, so 8 columns from
    /// a multiple of 8 lie in one group.</summary>
    internal readonly struct Int4Rows(byte* packed, float* scale, int k, int g) : IMatrixRows
    {
        readonly Int4Layout _w = new(packed, scale, k, g, run: 8);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Eight(int row, int col)
        {
            var q = Int4Quantizer.Nibbles8(_w.Bytes(row, col, out bool high), high);
            return RoundToBf16(Avx.Multiply(Avx.ConvertToVector256Single(q), Vector256.Create(_w.Scale(row, col))));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float One(int row, int col) => RoundToBf16(_w.At(row, col) * _w.Scale(row, col));
    }

    /// <summary>Float32 values rounded to bf16 as the dequantisers round them (<see cref="CpuGemv.FloatToBf16x8"/>), left in
    /// float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> RoundToBf16(Vector256<float> f) =>
        Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(CpuGemv.FloatToBf16x8(f)), 16).AsSingle();

    static float RoundToBf16(float f) => CpuGemv.Bf16ToFloat(CpuGemv.FloatToBf16(f));
}
