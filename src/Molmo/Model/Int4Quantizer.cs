using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static TorchSharp.torch;

namespace Molmo.Model;

/// <summary>
/// Weight-only int4 quantisation with a float32 scale per group of <see cref="GroupSize"/> consecutive columns of a row
/// (4.5 bits a weight at groups of 64, as llama.cpp's Q4_0 at 32 with float16 scales). Per group: m is the value of largest
/// magnitude (signed), scale = m / −8, q = round(w / scale) clamped to [−8, 7], so m itself is exactly −8 and the group
/// uses all 16 levels; a group of zeros has scale 0; a group holding NaN or ±∞ gets a NaN scale (its outputs are NaN, as in
/// float). Round-to-nearest, no calibration: the quality check is on the golden checkpoints (tests) and is stated in
/// docs/engine.md.
/// <para>
/// Storage, per row: chunks of 2·G columns in G bytes. Byte j of chunk c holds q[2G·c + j] in its low nibble and
/// q[2G·c + G + j] in its high nibble, each as 4-bit two's complement (an arithmetic shift sign-extends it), so that one
/// 64-byte load of a row (G = 64) is two whole groups, each a contiguous run of columns: the low nibbles against
/// x[c·128 …], the high ones against x[c·128 + 64 …], with no shuffles of x.
/// <c>weight</c> is uint8 [N, K/2] and <c>weight_scale</c> float32 [N, K/G].
/// </para>
/// </summary>
public static class Int4Quantizer
{
    /// <summary>
    /// Columns per scale for rows of <paramref name="k"/> columns: 64 where a chunk of two groups (128) divides k (every matrix
    /// of the released checkpoints), else 32 or 16 (small test models); groups never straddle the kernels' 256-column blocks
    /// of x. Throws for widths that are not a multiple of 32.
    /// </summary>
    public static int GroupSize(long k) =>
        k % 128 == 0 ? 64 : k % 64 == 0 ? 32 : k % 32 == 0 ? 16
        : throw new ArgumentException($"int4 needs rows whose width is a multiple of 32; this matrix has {k} columns (use --dtype int8)");

    /// <summary>The packed weight's shape [N, K/2] and the scales' [N, K/G] for a [N, K] matrix.</summary>
    public static (long[] Packed, long[] Scale) Shapes(long n, long k) => ([n, k / 2], [n, k / GroupSize(k)]);

    /// <summary>Quantises a 2-D weight (any float dtype, any device) into new CPU tensors: (uint8 [N, K/2], float32 [N, K/G]).</summary>
    public static (Tensor Packed, Tensor Scale) Quantize(Tensor w)
    {
        if (w.dim() != 2) throw new ArgumentException($"int4 quantises 2-D weights, not [{string.Join(", ", w.shape)}]");
        var (ps, ss) = Shapes(w.shape[0], w.shape[1]);
        var packed = empty(ps, ScalarType.Byte);
        var scale = empty(ss, ScalarType.Float32);
        QuantizeCpu(w, packed, scale);
        return (packed, scale);
    }

    /// <summary>
    /// <see cref="Quantize"/> into an int4 layer's <c>weight</c> (uint8 [N, K/2]) and <c>weight_scale</c> (float32 [N, K/G]) while
    /// loading: straight into them when they are contiguous CPU tensors, else through CPU temporaries copied over.
    /// </summary>
    public static void QuantizeInto(Tensor w, Tensor packed, Tensor scale)
    {
        if (w.dim() != 2) throw new ArgumentException($"int4 quantises 2-D weights, not [{string.Join(", ", w.shape)}]");
        var (ps, ss) = Shapes(w.shape[0], w.shape[1]);
        if (!packed.shape.SequenceEqual(ps) || packed.dtype != ScalarType.Byte || !scale.shape.SequenceEqual(ss) || scale.dtype != ScalarType.Float32)
            throw new ArgumentException($"a [{string.Join(", ", w.shape)}] weight needs a uint8 [{string.Join(", ", ps)}] int4 weight and a float32 [{string.Join(", ", ss)}] scale");
        if (packed.device_type == TorchSharp.DeviceType.CPU && packed.is_contiguous() && scale.device_type == TorchSharp.DeviceType.CPU && scale.is_contiguous())
        {
            QuantizeCpu(w, packed, scale);
            return;
        }
        var (tp, ts) = Quantize(w);
        using (tp) using (ts) { packed.copy_(tp); scale.copy_(ts); }
    }

    static unsafe void QuantizeCpu(Tensor w, Tensor packed, Tensor scale)
    {
        using var scope = NewDisposeScope();
        // The one pass reads bf16 or float32 rows in place; anything else (another dtype, a GPU tensor, a strided view) is
        // converted to a contiguous float32 CPU copy first.
        var src = w.device_type == TorchSharp.DeviceType.CPU && w.is_contiguous() && w.dtype is ScalarType.BFloat16 or ScalarType.Float32
            ? w : w.to(ScalarType.Float32, CPU).contiguous();
        long n = src.shape[0], k = src.shape[1];
        int g = GroupSize(k);
        long groups = k / g;
        bool bf16 = src.dtype == ScalarType.BFloat16;
        nint ps = Checkpoints.NativeTensor.DataPointer(src), pp = Checkpoints.NativeTensor.DataPointer(packed), pq = Checkpoints.NativeTensor.DataPointer(scale);
        Kernels.KernelThreads.ForEachRow(n, r =>
        {
            var q = stackalloc sbyte[g];
            byte* row = (byte*)pp + r * (k / 2);
            for (long gi = 0; gi < groups; gi++)
            {
                // Groups of 64 in chunks of two, vectorised (the same arithmetic); the scalar loop below does the rest and
                // any chunk holding a zero or non-finite group.
                if (g == 64 && (gi & 1) == 0 && (Avx512BW.IsSupported || Avx2.IsSupported)
                    && QuantizeChunk64(bf16 ? null : (float*)ps + r * k + gi * 64, bf16 ? (ushort*)ps + r * k + gi * 64 : null, row + gi / 2 * 64, (float*)pq + r * groups + gi))
                {
                    gi++;
                    continue;
                }
                long c0 = gi * g;
                float Get(long j) => bf16 ? Kernels.CpuGemv.Bf16ToFloat(((ushort*)ps)[r * k + c0 + j]) : ((float*)ps)[r * k + c0 + j];
                float m = 0, maxAbs = 0;
                bool finite = true;
                for (int j = 0; j < g; j++)
                {
                    float v = Get(j);
                    finite &= float.IsFinite(v);
                    if (MathF.Abs(v) > maxAbs) { maxAbs = MathF.Abs(v); m = v; }
                }
                float s = !finite ? float.NaN : m / -8f;
                ((float*)pq)[r * groups + gi] = s;
                for (int j = 0; j < g; j++)
                    q[j] = s == 0 || !finite ? (sbyte)0 : (sbyte)Math.Clamp(MathF.Round(Get(j) / s, MidpointRounding.ToEven), -8f, 7f);
                // Groups 2c and 2c + 1 share the bytes of chunk c: the even group in the low nibbles, the odd one in the high.
                byte* chunk = row + gi / 2 * g;
                bool high = (gi & 1) == 1;
                for (int j = 0; j < g; j++)
                {
                    byte nibble = (byte)(q[j] & 15);
                    chunk[j] = high ? (byte)((chunk[j] & 0x0F) | (nibble << 4)) : (byte)((chunk[j] & 0xF0) | nibble);
                }
            }
        });
        GC.KeepAlive(w); GC.KeepAlive(packed); GC.KeepAlive(scale);
    }

    /// <summary>
    /// Two groups of 64 (128 columns of float32 <paramref name="f"/> or bf16 <paramref name="h"/>) into 64 packed bytes and two
    /// scales, as the scalar loop does: the first value of largest magnitude gives the scale, then float32 division, round
    /// half to even (the conversion's default rounding) and the clamp. Returns false, writing nothing, when either group is
    /// all zeros or holds a non-finite value (left to the scalar loop).
    /// </summary>
    static unsafe bool QuantizeChunk64(float* f, ushort* h, byte* o, float* scales)
    {
        if (!Avx512BW.IsSupported) return QuantizeChunk64Avx2(f, h, o, scales);
        Vector512<float> Load(int j) => f != null ? Avx512F.LoadVector512(f + j) : Kernels.CpuGemv.Bf16ToFloat16(h + j);
        var v = stackalloc Vector512<float>[8];
        var s = stackalloc float[2];
        for (int half = 0; half < 2; half++)
        {
            var vmax = Vector512<float>.Zero;
            var nonFinite = Vector512<float>.Zero;
            for (int p = 0; p < 4; p++)
            {
                var x = v[4 * half + p] = Load(64 * half + 16 * p);
                vmax = Avx512F.Max(vmax, Vector512.Abs(x));
                nonFinite += x - x;
            }
            float max = Kernels.CpuGemv.MaxLane(vmax);
            if (max == 0 || Vector512.Sum(nonFinite) != 0) return false;
            // The first column whose magnitude is the largest: its signed value.
            float m = 0;
            for (int p = 0; p < 4 && m == 0; p++)
            {
                ulong hit = Vector512.Equals(Vector512.Abs(v[4 * half + p]), Vector512.Create(max)).ExtractMostSignificantBits();
                if (hit != 0) m = v[4 * half + p].GetElement(System.Numerics.BitOperations.TrailingZeroCount(hit));
            }
            s[half] = m / -8f;
        }
        var lo = Vector512.Create(-8);
        var hi = Vector512.Create(7);
        var four = Vector512.Create(15);
        var vs0 = Vector512.Create(s[0]);
        var vs1 = Vector512.Create(s[1]);
        for (int p = 0; p < 4; p++)
        {
            var q0 = Avx512F.Min(Avx512F.Max(Avx512F.ConvertToVector512Int32(Avx512F.Divide(v[p], vs0)), lo), hi) & four;
            var q1 = Avx512F.Min(Avx512F.Max(Avx512F.ConvertToVector512Int32(Avx512F.Divide(v[4 + p], vs1)), lo), hi) & four;
            Sse2.Store(o + 16 * p, Avx512F.ConvertToVector128Byte((q0 | Avx512F.ShiftLeftLogical(q1, 4)).AsUInt32()));
        }
        scales[0] = s[0];
        scales[1] = s[1];
        return true;
    }

    /// <summary><see cref="QuantizeChunk64"/> with AVX2: the same arithmetic on 8 lanes, so the same bytes and scales.</summary>
    static unsafe bool QuantizeChunk64Avx2(float* f, ushort* h, byte* o, float* scales)
    {
        var v = stackalloc Vector256<float>[16];
        var s = stackalloc float[2];
        for (int half = 0; half < 2; half++)
        {
            var vmax = Vector256<float>.Zero;
            var nonFinite = Vector256<float>.Zero;
            for (int p = 0; p < 8; p++)
            {
                int j = 64 * half + 8 * p;
                // bf16 → float32: the 16 bits moved to the top of a 32-bit word (exact).
                var x = v[8 * half + p] = f != null ? Avx.LoadVector256(f + j)
                    : Kernels.CpuGemv.Bf16ToFloat8(h + j);
                vmax = Avx.Max(vmax, Vector256.Abs(x));
                nonFinite += x - x;
            }
            float max = Kernels.CpuGemv.MaxLane(vmax);
            if (max == 0 || Vector256.Sum(nonFinite) != 0) return false;
            float m = 0;
            for (int p = 0; p < 8 && m == 0; p++)
            {
                uint hit = Vector256.Equals(Vector256.Abs(v[8 * half + p]), Vector256.Create(max)).ExtractMostSignificantBits();
                if (hit != 0) m = v[8 * half + p].GetElement(System.Numerics.BitOperations.TrailingZeroCount(hit));
            }
            s[half] = m / -8f;
        }
        var lo = Vector256.Create(-8);
        var hi = Vector256.Create(7);
        var four = Vector256.Create(15);
        var vs0 = Vector256.Create(s[0]);
        var vs1 = Vector256.Create(s[1]);
        // Byte j: column j's nibble low, column 64 + j's high; 8 columns a step, narrowed 32 → 16 → 8 bits (values ≤ 255).
        var packed = stackalloc Vector256<int>[8];
        for (int p = 0; p < 8; p++)
        {
            var q0 = Avx2.Min(Avx2.Max(Avx.ConvertToVector256Int32(Avx.Divide(v[p], vs0)), lo), hi) & four;
            var q1 = Avx2.Min(Avx2.Max(Avx.ConvertToVector256Int32(Avx.Divide(v[8 + p], vs1)), lo), hi) & four;
            packed[p] = q0 | Avx2.ShiftLeftLogical(q1, 4);
        }
        for (int p = 0; p < 8; p += 4)
        {
            var bytes = Vector256.Narrow(Vector256.Narrow(packed[p], packed[p + 1]).AsUInt16(), Vector256.Narrow(packed[p + 2], packed[p + 3]).AsUInt16());
            Avx.Store(o + 8 * p, bytes);
        }
        scales[0] = s[0];
        scales[1] = s[1];
        return true;
    }

    /// <summary>The quantised value (−8 … 7) of column <paramref name="j"/> in a packed row of <paramref name="k"/> columns.</summary>
    internal static unsafe int At(byte* row, long j, int g)
    {
        long chunk = j / (2 * g), within = j % (2 * g);
        byte b = row[chunk * g + within % g];
        return ((within < g ? b & 0x0F : b >> 4) ^ 8) - 8;   // 4-bit two's complement
    }

    /// <summary>
    /// The weights as <paramref name="dtype"/> [N, K] in libtorch ops, on the tensors' device: q · scale. For GPUs
    /// (a CUDA int4 decode step dequantises each matrix for cuBLAS: correct, not fast) and CPUs without AVX2 or AVX-512.
    /// </summary>
    public static Tensor Dequantize(Tensor packed, Tensor scale, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        long n = packed.shape[0], k = packed.shape[1] * 2;
        int g = GroupSize(k);
        var bytes = packed.view(n, k / (2 * g), g);
        var low = bytes.remainder(Runtime.Scalars.Of(16));                                  // the low nibble
        var high = bytes.div(Runtime.Scalars.Of(16), rounding_mode: RoundingMode.floor);   // the high nibble (uint8 stays uint8)
        // [N, K/2G, 2G]: groups in column order; 4-bit two's complement t → ((t + 8) mod 16) − 8.
        var q = cat([low, high], 2).to(ScalarType.Float32).add_(Runtime.Scalars.Of(8), Runtime.Scalars.One)
            .remainder_(Runtime.Scalars.Of(16)).sub_(Runtime.Scalars.Of(8));
        var w = q.view(n, k / g, g).mul_(scale.to(ScalarType.Float32).unsqueeze(2)).view(n, k).to(dtype);
        return w.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The weights as bf16 [N, K] on the CPU in one vectorised pass (bf16(q · scale), the product in float32, rounded
    /// to nearest even), for prefill's GEMM; into <paramref name="into"/> when given.
    /// </summary>
    public static unsafe Tensor DequantizeBf16(Tensor packed, Tensor scale, Tensor? into = null)
    {
        if (packed.dim() != 2 || packed.dtype != ScalarType.Byte || packed.device_type != TorchSharp.DeviceType.CPU || !packed.is_contiguous())
            throw new ArgumentException("DequantizeBf16 takes a contiguous 2-D uint8 CPU tensor of packed int4 weights");
        long n = packed.shape[0], k = packed.shape[1] * 2;
        int g = GroupSize(k);
        if (scale.dtype != ScalarType.Float32 || !scale.is_contiguous() || scale.device_type != TorchSharp.DeviceType.CPU || !scale.shape.SequenceEqual(new[] { n, k / g }))
            throw new ArgumentException($"DequantizeBf16 needs a contiguous float32 CPU scale of shape [{n}, {k / g}]");
        if (into is not null && (into.dtype != ScalarType.BFloat16 || !into.shape.SequenceEqual(new[] { n, k }) || !into.is_contiguous() || into.device_type != TorchSharp.DeviceType.CPU))
            throw new ArgumentException($"DequantizeBf16 writes into a contiguous bf16 CPU tensor of shape [{n}, {k}]");
        var w = into ?? empty([n, k], ScalarType.BFloat16);
        nint src = Checkpoints.NativeTensor.DataPointer(packed), dst = Checkpoints.NativeTensor.DataPointer(w), ps = Checkpoints.NativeTensor.DataPointer(scale);
        Kernels.KernelThreads.ForEachRow(n, r =>
        {
            byte* row = (byte*)src + r * (k / 2);
            ushort* o = (ushort*)dst + r * k;
            float* s = (float*)ps + r * (k / g);
            if (g == 64 && Avx512BW.IsSupported)
                for (long c = 0; c < k; c += 128)
                {
                    var (low, high) = Unpack(Avx512BW.LoadVector512(row + c / 2));
                    Dequantize64(low, s[c / 64], o + c);
                    Dequantize64(high, s[c / 64 + 1], o + c + 64);
                }
            else if (g == 64 && Avx2.IsSupported)
                for (long c = 0; c < k; c += 128)
                    for (int j = 0; j < 64; j += 8)
                    {
                        // Bytes j … j + 7: columns c + j … (low nibbles) and c + 64 + j … (high ones).
                        var low = Nibbles8(row + c / 2 + j, high: false);
                        var high = Nibbles8(row + c / 2 + j, high: true);
                        Sse2.Store(o + c + j, Kernels.CpuGemv.FloatToBf16x8(Avx.Multiply(Avx.ConvertToVector256Single(low), Vector256.Create(s[c / 64]))));
                        Sse2.Store(o + c + 64 + j, Kernels.CpuGemv.FloatToBf16x8(Avx.Multiply(Avx.ConvertToVector256Single(high), Vector256.Create(s[c / 64 + 1]))));
                    }
            else
                for (long j = 0; j < k; j++) o[j] = Kernels.CpuGemv.FloatToBf16(At(row, j, g) * s[j / g]);
        });
        GC.KeepAlive(packed); GC.KeepAlive(scale);
        return w;
    }

    /// <summary>8 int4 values from 8 packed bytes, their low nibbles or their high ones, sign-extended to int32 (AVX2: a
    /// 4-bit two's complement t is (t ^ 8) − 8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe Vector256<int> Nibbles8(byte* bytes, bool high)
    {
        var b = Avx2.ConvertToVector256Int32(bytes);
        var eight = Vector256.Create(8);
        return ((high ? Avx2.ShiftRightLogical(b, 4) : b & Vector256.Create(15)) ^ eight) - eight;
    }

    /// <summary><see cref="Nibbles8"/> for 16 bytes, sign-extended to int16 (the packed GEMM's integer products).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe Vector256<short> Nibbles16(byte* bytes, bool high)
    {
        var b = Avx2.ConvertToVector256Int16(bytes);
        var eight = Vector256.Create((short)8);
        return ((high ? Avx2.ShiftRightLogical(b, 4) : b & Vector256.Create((short)15)) ^ eight) - eight;
    }

    /// <summary>A 64-byte load of packed int4 weights → its low nibbles and its high nibbles as signed bytes, in column order
    /// (a 4-bit two's complement t is (t ^ 8) − 8), for dequantising. The kernels take groups out of 16-bit words instead
    /// (CpuGemv.Int4Words), in the even/odd order of their rearranged x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector512<sbyte> Low, Vector512<sbyte> High) Unpack(Vector512<byte> v)
    {
        var nibble = Vector512.Create((byte)0x0F);
        var eight = Vector512.Create((sbyte)8);
        // No byte shift in AVX-512: shift the 16-bit words, and the mask drops what came in from the neighbouring byte.
        var sign = Vector512.Create((byte)8);
        var high = Avx512BW.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & nibble;
        return (((v & nibble) ^ sign).AsSByte() - eight, (high ^ sign).AsSByte() - eight);
    }

    /// <summary>64 quantised values × one scale → 64 bf16 values at <paramref name="o"/>.</summary>
    static unsafe void Dequantize64(Vector512<sbyte> q, float scale, ushort* o)
    {
        var vs = Vector512.Create(scale);
        for (int part = 0; part < 4; part++)
        {
            var quarter = part switch { 0 => q.GetLower().GetLower(), 1 => q.GetLower().GetUpper(), 2 => q.GetUpper().GetLower(), _ => q.GetUpper().GetUpper() };
            Avx.Store(o + 16 * part, Kernels.CpuGemv.FloatToBf16x16(Avx512F.Multiply(Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(quarter)), vs)));
        }
    }

    /// <summary>
    /// x · Wᵀ (+ b) for prefill-sized inputs on the CPU: the weights dequantised to bf16 for libtorch's GEMM, through the
    /// buffer int8's prefill uses too (<see cref="DequantisedLinear"/>).
    /// </summary>
    public static Tensor LinearDequantised(Tensor x, Tensor packed, Tensor scale, Tensor? bias) =>
        DequantisedLinear.Forward(x, [packed.shape[0], packed.shape[1] * 2], into => DequantizeBf16(packed, scale, into), bias);
}
