// int8 (and, at the end, int4) weight-only matrix-vector products for decode steps on NVIDIA GPUs:
//   y[i, r] = bf16( (Σ_j q[r, j] · x[i, j]) · scale[r] + bias[r] )     q int8 [n, k], scale float32 [n], x / bias / y bf16.
// Each weight byte is read once per step (the dequantise-then-GEMM route reads it, writes a bf16 copy and reads that again).
// A warp takes ROWS weight rows; each lane reads 16 weights of each row at a time (a warp covers 512 columns of a row per step,
// coalesced), against up to MAXM rows of x, accumulating in float32; a shuffle reduction ends each row.
// Two ways to share the rows out:
//  - by rows (int8_gemv_bf16, int8_gemv_bf16_1): each warp of a block its own ROWS rows, all their columns;
//  - by columns (…_split): the SPLIT warps of a block the same ROWS rows, each a share of the columns, their sums added in
//    shared memory. A block then holds 4 rows instead of 16, so a matrix of few rows still spreads over every SM with enough
//    loads in flight (7B-D's ff_out, 3584 rows: 224 blocks by rows, about 7 warps per SM of an H100/H200; 896 by columns).
// The host launches the split kernels (CudaQuantGemv); the others stay as the benchmark's baseline. Both widen weights without
// a conversion instruction (widen16).
// Built into PTX by build/quant_gemv_ptx.sh with clang's NVPTX back end (no CUDA toolkit), embedded in the library, and
// compiled for the GPU by its driver on first use (Runtime/CudaQuantGemv.cs). Plain C++ with the few NVVM builtins it needs,
// so no CUDA headers are needed either. The host checks that k is a multiple of 16 and the pointers are 16-byte aligned.

#ifndef GLOBAL   // tests/Molmo.Tests/Native/quant_gemv_emulation.cpp defines these and the NVVM builtins to run this file on a CPU
#define GLOBAL extern "C" __attribute__((global))
#define DEVICE __attribute__((device)) static inline
#define SHARED __attribute__((shared))
#define SYNC_THREADS() __syncthreads()
#endif

enum { ROWS = 4, MAXM = 8, SPLIT = 4 };

struct __attribute__((aligned(16))) u32x4 { unsigned a, b, c, d; };

DEVICE float bf16_to_float(unsigned bits) { return __builtin_bit_cast(float, bits << 16); }

// Round to nearest even, NaN kept a (quiet) NaN.
DEVICE unsigned short float_to_bf16(float f)
{
    unsigned u = __builtin_bit_cast(unsigned, f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((u >> 16) | 0x40u);
    return (unsigned short)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// 16 int8 weights (one 16-byte load) as float32, exactly, without a conversion instruction: a GPU converts 16 numbers a clock
// per SM (I2F), against 64 byte permutes and 128 float adds, and a one-row step converts as many weights as it multiplies
// (docs/gpu.md, "int8 on CUDA"). One xor a word turns each byte q into u = q + 128; a byte permute puts u into the low byte of
// 0x4B000000, the float 2^23 + u; subtracting 2^23 + 128 leaves q.
DEVICE void widen16(u32x4 w, float* out)
{
    unsigned words[4] = { w.a, w.b, w.c, w.d };
#pragma unroll
    for (int q = 0; q < 4; q++)
    {
        unsigned biased = words[q] ^ 0x80808080u;
#pragma unroll
        for (int b = 0; b < 4; b++)
            out[4 * q + b] = __builtin_bit_cast(float, __nvvm_prmt(biased, 0x4B000000u, 0x7440u | (unsigned)b)) - 8388736.f;
    }
}

// 16 bf16 values of x (two 16-byte loads) as float32.
DEVICE void widen_x16(const unsigned short* __restrict__ x, float* xf)
{
    const u32x4* xp = (const u32x4*)x;
    u32x4 lo = xp[0], hi = xp[1];
    unsigned words[8] = { lo.a, lo.b, lo.c, lo.d, hi.a, hi.b, hi.c, hi.d };
#pragma unroll
    for (int q = 0; q < 8; q++)
    {
        xf[2 * q] = bf16_to_float(words[q] & 0xffffu);
        xf[2 * q + 1] = bf16_to_float(words[q] >> 16);
    }
}

// acc[t][i] = Σ q[r0 + t, c…c+15] · x[i, c…c+15] over the columns c = c0, c0 + stride, … below k: this lane's share. M: the
// most rows of x this instantiation takes (its accumulators are M per weight row, held in registers).
template <int M>
__attribute__((always_inline)) DEVICE void accumulate(const signed char* __restrict__ w, const unsigned short* __restrict__ x, int n, int k, int m,
                       long r0, int c0, int stride, float (&acc)[ROWS][M])
{
#pragma unroll
    for (int t = 0; t < ROWS; t++)
#pragma unroll
        for (int i = 0; i < M; i++) acc[t][i] = 0.f;
    for (int c = c0; c < k; c += stride)
    {
        // Each weight is widened once and serves every x row. Past the last row (n not a multiple of ROWS) a warp reads row
        // n − 1 again and never writes those sums.
        float wf[ROWS][16];
#pragma unroll
        for (int t = 0; t < ROWS; t++) widen16(*(const u32x4*)(w + (r0 + t < n ? r0 + t : n - 1) * (long)k + c), wf[t]);
#pragma unroll
        for (int i = 0; i < M; i++)
            if (i < m)      // a guard, not a break: the loops must unroll for acc to stay in registers
            {
                float xf[16];
                widen_x16(x + (long)i * k + c, xf);
#pragma unroll
                for (int t = 0; t < ROWS; t++)
#pragma unroll
                    for (int j = 0; j < 16; j++) acc[t][i] += wf[t][j] * xf[j];
            }
    }
}

// int4 (Model/Int4Quantizer's layout: a row's 128-column chunks are 64 bytes, byte j holding column j in its low nibble and
// column 64 + j in its high one, as 4-bit two's complement; a float32 scale per 64 columns): 16 bytes are 16 weights of one
// group (the low nibbles) and 16 of the next (the high ones). Widened as int8's are: (t & 15) ^ 8 is t + 8 for a 4-bit two's
// complement t, a byte permute puts it into the low byte of 0x4B000000 (the float 2^23 + t + 8), and subtracting 2^23 + 8
// leaves t.
DEVICE void widen_nibbles16(u32x4 w, int high, float* out)
{
    unsigned words[4] = { w.a, w.b, w.c, w.d };
#pragma unroll
    for (int q = 0; q < 4; q++)
    {
        unsigned biased = ((high ? words[q] >> 4 : words[q]) & 0x0f0f0f0fu) ^ 0x08080808u;
#pragma unroll
        for (int b = 0; b < 4; b++)
            out[4 * q + b] = __builtin_bit_cast(float, __nvvm_prmt(biased, 0x4B000000u, 0x7440u | (unsigned)b)) - 8388616.f;
    }
}

// acc[t][i] = Σ over this lane's share of the row bytes (byte offsets o = o0, o0 + stride, … below k / 2, 16 at a time) of
// both groups' products, each group's sum times its scale. A row's bytes at o belong to chunk o / 64: its low nibbles to
// columns 128·chunk + o % 64 + j, its high nibbles to those + 64.
template <int M>
__attribute__((always_inline)) DEVICE void accumulate4(const unsigned char* __restrict__ w, const float* __restrict__ scale,
                       const unsigned short* __restrict__ x, int n, int k, int m, long r0, int o0, int stride, float (&acc)[ROWS][M])
{
#pragma unroll
    for (int t = 0; t < ROWS; t++)
#pragma unroll
        for (int i = 0; i < M; i++) acc[t][i] = 0.f;
    long rowBytes = k / 2, groups = k / 64;
    for (int o = o0; o < rowBytes; o += stride)
    {
        long chunk = o >> 6, col0 = 128 * chunk + (o & 63);
        u32x4 raw[ROWS];
        long rows[ROWS];
#pragma unroll
        for (int t = 0; t < ROWS; t++)
        {
            rows[t] = r0 + t < n ? r0 + t : n - 1;   // past the last row: row n − 1 again, never written
            raw[t] = *(const u32x4*)(w + rows[t] * rowBytes + o);
        }
#pragma unroll
        for (int high = 0; high < 2; high++)
        {
            float wf[ROWS][16], s[ROWS];
#pragma unroll
            for (int t = 0; t < ROWS; t++)
            {
                widen_nibbles16(raw[t], high, wf[t]);
                s[t] = scale[rows[t] * groups + 2 * chunk + high];
            }
#pragma unroll
            for (int i = 0; i < M; i++)
                if (i < m)
                {
                    float xf[16];
                    widen_x16(x + (long)i * k + col0 + 64 * high, xf);
#pragma unroll
                    for (int t = 0; t < ROWS; t++)
                    {
                        float g = 0.f;
#pragma unroll
                        for (int j = 0; j < 16; j++) g += wf[t][j] * xf[j];
                        acc[t][i] += s[t] * g;
                    }
                }
        }
    }
}

// The sum of v over the warp, in lane 0.
DEVICE float warp_sum(float v)
{
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) v += __nvvm_shfl_sync_down_f32(0xffffffffu, v, offset, 0x1f);
    return v;
}

// use(t, i, sum) for each weight row t and x row i below m, with acc[t][i] summed over the warp (valid in lane 0).
template <int M, class Use>
__attribute__((always_inline)) DEVICE void warp_sums(float (&acc)[ROWS][M], int m, Use use)
{
#pragma unroll
    for (int t = 0; t < ROWS; t++)
#pragma unroll
        for (int i = 0; i < M; i++)
            if (i < m) use(t, i, warp_sum(acc[t][i]));
}

DEVICE void store(const float* __restrict__ scale, const unsigned short* __restrict__ bias, unsigned short* __restrict__ y,
                  int n, long r, int i, float sum)
{
    y[(long)i * n + r] = float_to_bf16(sum * scale[r] + (bias ? bf16_to_float(bias[r]) : 0.f));
}

// Shared out by rows: each warp its own ROWS rows, every column.
template <int M>
DEVICE void gemv(const signed char* __restrict__ w, const float* __restrict__ scale, const unsigned short* __restrict__ x,
                 const unsigned short* __restrict__ bias, unsigned short* __restrict__ y, int n, int k, int m)
{
    int tid = (int)__nvvm_read_ptx_sreg_tid_x(), lane = tid & 31;
    int warpsPerBlock = (int)__nvvm_read_ptx_sreg_ntid_x() >> 5;
    long r0 = ((long)__nvvm_read_ptx_sreg_ctaid_x() * warpsPerBlock + (tid >> 5)) * ROWS;
    if (r0 >= n) return;

    float acc[ROWS][M];
    accumulate<M>(w, x, n, k, m, r0, lane * 16, 32 * 16, acc);
    warp_sums<M>(acc, m, [&](int t, int i, float v) { if (lane == 0 && r0 + t < n) store(scale, bias, y, n, r0 + t, i, v); });
}

// Shared out by columns: the SPLIT warps of a block the same ROWS rows, warp s the columns (s·32 + lane)·16 + j·SPLIT·512
// (int8: bytes and columns alike; int4: the row's bytes). share(r0, first, stride, acc) sums a lane's share; each warp's
// sums go to shared memory; after the barrier, lane t·M + i of warp 0 adds the SPLIT sums of (row t, x row i) in warp order
// and hands them to finish(row, x row, sum). The host launches SPLIT·32 threads a block.
template <int M, class Share, class Finish>
__attribute__((always_inline)) DEVICE void split_by_columns(int n, int m, Share share, Finish finish)
{
    static_assert(ROWS * M <= 32, "one lane of warp 0 finishes each (row, x row)");
    static SHARED float partial[SPLIT][ROWS][M];
    int tid = (int)__nvvm_read_ptx_sreg_tid_x(), lane = tid & 31, warp = tid >> 5;
    long r0 = (long)__nvvm_read_ptx_sreg_ctaid_x() * ROWS;
    if (r0 >= n) return;   // the whole block: r0 is the block's

    float acc[ROWS][M];
    share(r0, (warp * 32 + lane) * 16, SPLIT * 32 * 16, acc);
    warp_sums<M>(acc, m, [&](int t, int i, float v) { if (lane == 0) partial[warp][t][i] = v; });
    SYNC_THREADS();
    if (warp == 0 && lane < ROWS * M)
    {
        int t = lane / M, i = lane % M;
        if (i < m && r0 + t < n)
        {
            float v = partial[0][t][i];
#pragma unroll
            for (int s = 1; s < SPLIT; s++) v += partial[s][t][i];
            finish(r0 + t, i, v);
        }
    }
}

template <int M>
DEVICE void gemv_split(const signed char* __restrict__ w, const float* __restrict__ scale, const unsigned short* __restrict__ x,
                       const unsigned short* __restrict__ bias, unsigned short* __restrict__ y, int n, int k, int m)
{
    split_by_columns<M>(n, m,
        [&](long r0, int first, int stride, float (&acc)[ROWS][M]) { accumulate<M>(w, x, n, k, m, r0, first, stride, acc); },
        [&](long r, int i, float v) { store(scale, bias, y, n, r, i, v); });
}

// int4: the scales are applied per group inside the sums, so the output is the sum plus the bias.
template <int M>
DEVICE void gemv4_split(const unsigned char* __restrict__ w, const float* __restrict__ scale, const unsigned short* __restrict__ x,
                        const unsigned short* __restrict__ bias, unsigned short* __restrict__ y, int n, int k, int m)
{
    split_by_columns<M>(n, m,
        [&](long r0, int first, int stride, float (&acc)[ROWS][M]) { accumulate4<M>(w, scale, x, n, k, m, r0, first, stride, acc); },
        [&](long r, int i, float v) { y[(long)i * n + r] = float_to_bf16(v + (bias ? bf16_to_float(bias[r]) : 0.f)); });
}

// The entry points the host launches, all with one parameter list: w, scale, x, bias, y (device pointers), n, k, m; w's
// element type is int8's signed char or int4's packed unsigned char.
#define ENTRY(name, weight, body)                                                                                            \
    GLOBAL void name(const weight* __restrict__ w, const float* __restrict__ scale, const unsigned short* __restrict__ x,   \
                     const unsigned short* __restrict__ bias, unsigned short* __restrict__ y, int n, int k, int m)          \
    {                                                                                                                        \
        body;                                                                                                                \
    }

// Up to MAXM rows of x (batched decode steps), and one row of x (a single sequence's decode step: 4 accumulators instead
// of 32, so fewer registers and more warps in flight); shared out by rows, then by columns (what the host launches).
ENTRY(int8_gemv_bf16, signed char, gemv<MAXM>(w, scale, x, bias, y, n, k, m))
ENTRY(int8_gemv_bf16_1, signed char, gemv<1>(w, scale, x, bias, y, n, k, 1))
ENTRY(int8_gemv_bf16_split, signed char, gemv_split<MAXM>(w, scale, x, bias, y, n, k, m))
ENTRY(int8_gemv_bf16_split_1, signed char, gemv_split<1>(w, scale, x, bias, y, n, k, 1))

// int4 (Model/Int4Quantizer's layout), by columns: w is the packed bytes [n, k / 2], scale float32 [n, k / 64]; k a multiple of 128.
ENTRY(int4_gemv_bf16_split, unsigned char, gemv4_split<MAXM>(w, scale, x, bias, y, n, k, m))
ENTRY(int4_gemv_bf16_split_1, unsigned char, gemv4_split<1>(w, scale, x, bias, y, n, k, 1))
