using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Molmo.Model.Kernels;

/// <summary>
/// A weight matrix [N, K] as the packed GEMM reads it while packing: 8 consecutive weights of a row, or one, as float32.
/// Implemented by structs, so that each kind's reads are compiled into its own copy of the packing loop.
/// </summary>
internal interface IWeightRows
{
    /// <summary>Weights [row, col … col + 7] as float32; col is a multiple of 8 and col + 8 ≤ K.</summary>
    Vector256<float> Eight(int row, int col);

    /// <summary>Weight [row, col] as float32.</summary>
    float One(int row, int col);
}

public static unsafe partial class CpuGemm
{
    /// <summary>bf16 weights [N, K] (row stride K), widened exactly.</summary>
    internal readonly struct Bf16Rows(ushort* w, int k) : IWeightRows
    {
        public Vector256<float> Eight(int row, int col) => Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(w + (long)row * k + col), 16).AsSingle();
        public float One(int row, int col) => BitConverter.Int32BitsToSingle(w[(long)row * k + col] << 16);
    }

    /// <summary>float32 weights [N, K] (row stride K), as they are.</summary>
    internal readonly struct Float32Rows(float* w, int k) : IWeightRows
    {
        public Vector256<float> Eight(int row, int col) => Avx.LoadVector256(w + (long)row * k + col);
        public float One(int row, int col) => w[(long)row * k + col];
    }

    /// <summary>
    /// int8 weights q [N, K] with a float32 scale a row (<see cref="Int8Quantizer"/>): bf16(q · scale), the bits the one-pass
    /// dequantiser wrote for the GEMM before the packing read the int8 rows itself, so a prefill's results did not change.
    /// </summary>
    internal readonly struct Int8Rows(sbyte* q, float* scale, int k) : IWeightRows
    {
        public Vector256<float> Eight(int row, int col) =>
            RoundToBf16(Avx.Multiply(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(q + (long)row * k + col)), Vector256.Create(scale[row])));
        public float One(int row, int col) => RoundToBf16(q[(long)row * k + col] * scale[row]);
    }

    /// <summary>
    /// int4 weights packed two to a byte [N, K/2] with a float32 scale per group of <paramref name="g"/> columns [N, K/g]
    /// (<see cref="Int4Quantizer"/>'s layout: chunk c of a row, 2g columns in g bytes, holds column 2g·c + j in byte j's low
    /// nibble and column 2g·c + g + j in its high one): bf16(q · scale), as <see cref="Int8Rows"/>. g is at least 16, so 8
    /// columns from a multiple of 8 lie in one group and one nibble half.
    /// </summary>
    internal readonly struct Int4Rows(byte* packed, float* scale, int k, int g) : IWeightRows
    {
        public Vector256<float> Eight(int row, int col)
        {
            int within = col % (2 * g);
            var bytes = Avx2.ConvertToVector256Int32(packed + (long)row * (k / 2) + col / (2 * g) * g + within % g);
            var nibbles = within < g ? bytes & Vector256.Create(15) : Avx2.ShiftRightLogical(bytes, 4);
            var eight = Vector256.Create(8);
            var q = (nibbles ^ eight) - eight;   // 4-bit two's complement
            return RoundToBf16(Avx.Multiply(Avx.ConvertToVector256Single(q), Vector256.Create(scale[(long)row * (k / g) + col / g])));
        }

        public float One(int row, int col) => RoundToBf16(Int4Quantizer.At(packed + (long)row * (k / 2), col, g) * scale[(long)row * (k / g) + col / g]);
    }

    /// <summary>Float32 values rounded to bf16 precision, as <see cref="CpuGemv.FloatToBf16x8"/> rounds them (to nearest even,
    /// NaN → 0x7FC0), left in float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> RoundToBf16(Vector256<float> f)
    {
        var bits = f.AsUInt32();
        var rounded = (bits + Vector256.Create(0x7FFFu) + (Avx2.ShiftRightLogical(bits, 16) & Vector256.Create(1u))) & Vector256.Create(0xFFFF0000u);
        return Vector256.ConditionalSelect(Avx.CompareUnordered(f, f).AsUInt32(), Vector256.Create(0x7FC00000u), rounded).AsSingle();
    }

    static float RoundToBf16(float f) => BitConverter.Int32BitsToSingle(CpuGemv.FloatToBf16(f) << 16);
}
