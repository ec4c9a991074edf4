// Runs the CUDA int8 decode kernels' own source (src/Molmo/Runtime/Native/quant_gemv.cu) on a CPU, for CudaQuantGemvTests:
// each block as 128 threads run together, the lanes of each warp meeting at a barrier for every shuffle and the whole block at
// another for __syncthreads; blocks one after another, with the block's shared memory a static array. It checks the kernels'
// indexing, tails, reductions and conversions, not the GPU's compiler.
// Usage: quant_gemv_emulation IN OUT [one|general|split-one|split] (the kernels by rows for one row of x or up to MAXM, then the
// kernels by columns; the default: general). IN: int32 n, k, m, has_bias; int8 w[n·k]; float32 scale[n]; uint16 x[m·k];
// uint16 bias[n] (if has_bias). OUT: uint16 y[m·n] (bf16 bits).
// Or: quant_gemv_emulation - OUT widen: OUT gets float32 [256], the bytes 0…255 widened by widen16.
// int4 (int4-split, int4-split-one): IN holds uint8 w[n·k/2] (packed) and float32 scale[n·k/64] instead of w and scale.
// Or: quant_gemv_emulation - OUT widen4: OUT gets float32 [2][256], the bytes 0…255's low nibbles, then their high nibbles,
// widened by widen_nibbles16.
#include <barrier>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

enum { THREADS = 128, WARPS = THREADS / 32 };       // the host's launch: 128 threads a block (CudaQuantGemv.TryLaunch)
static thread_local unsigned lane_tid;              // threadIdx.x of the emulated thread
static unsigned block_dim, block_idx;               // blockDim.x, blockIdx.x
static float shuffle_slots[WARPS][32];
static std::unique_ptr<std::barrier<>> warp_barrier[WARPS], block_barrier;

unsigned __nvvm_read_ptx_sreg_tid_x() { return lane_tid; }
unsigned __nvvm_read_ptx_sreg_ntid_x() { return block_dim; }
unsigned __nvvm_read_ptx_sreg_ctaid_x() { return block_idx; }

// shfl.sync.down with clamp 31: lane l gets lane l + offset's value, or its own where that is past the warp.
float __nvvm_shfl_sync_down_f32(unsigned, float v, int offset, int)
{
    unsigned lane = lane_tid & 31, warp = lane_tid >> 5;
    shuffle_slots[warp][lane] = v;
    warp_barrier[warp]->arrive_and_wait();
    float r = lane + offset < 32 ? shuffle_slots[warp][lane + offset] : v;
    warp_barrier[warp]->arrive_and_wait();
    return r;
}

// prmt.b32 d, a, b, sel (default mode): byte i of d is byte (sel >> 4i) & 7 of the eight bytes b:a, or that byte's sign
// spread over all eight bits where (sel >> 4i) & 8.
unsigned __nvvm_prmt(unsigned a, unsigned b, unsigned sel)
{
    unsigned long long bytes = ((unsigned long long)b << 32) | a;
    unsigned d = 0;
    for (int i = 0; i < 4; i++)
    {
        unsigned s = (sel >> (4 * i)) & 0xf, byte = (unsigned)(bytes >> (8 * (s & 7))) & 0xffu;
        if (s & 8) byte = byte & 0x80u ? 0xffu : 0u;
        d |= byte << (8 * i);
    }
    return d;
}

#define GLOBAL static
#define DEVICE static inline
#define SHARED
// A thread that has returned (its whole block past the last row) never reaches a barrier: none waits for it, since a block
// returns as one in these kernels.
#define SYNC_THREADS() block_barrier->arrive_and_wait()
#include "quant_gemv.cu"

template <class T> static bool read(FILE* f, std::vector<T>& v, size_t n) { v.resize(n); return fread(v.data(), sizeof(T), n, f) == n; }

int main(int argc, char** argv)
{
    if (argc != 3 && argc != 4) return 2;
    std::string kernel = argc == 4 ? argv[3] : "general";
    if (kernel == "widen")
    {
        float widened[256];
        for (int v = 0; v < 256; v += 16)
        {
            auto word = [v](unsigned q) { unsigned b = v + 4 * q; return b | (b + 1) << 8 | (b + 2) << 16 | (b + 3) << 24; };
            u32x4 w = { word(0), word(1), word(2), word(3) };
            widen16(w, &widened[v]);
        }
        FILE* out = fopen(argv[2], "wb");
        if (!out || fwrite(widened, sizeof widened, 1, out) != 1) return 6;
        fclose(out);
        return 0;
    }
    if (kernel == "widen4")
    {
        float widened[2][256];
        for (int high = 0; high < 2; high++)
            for (int v = 0; v < 256; v += 16)
            {
                auto word = [v](unsigned q) { unsigned b = v + 4 * q; return b | (b + 1) << 8 | (b + 2) << 16 | (b + 3) << 24; };
                u32x4 w = { word(0), word(1), word(2), word(3) };
                widen_nibbles16(w, high, &widened[high][v]);
            }
        FILE* out = fopen(argv[2], "wb");
        if (!out || fwrite(widened, sizeof widened, 1, out) != 1) return 6;
        fclose(out);
        return 0;
    }
    bool int4 = kernel.rfind("int4-", 0) == 0;
    if (int4) kernel = kernel.substr(5);
    auto run = kernel == "one" ? int8_gemv_bf16_1 : kernel == "general" ? int8_gemv_bf16
             : kernel == "split-one" ? int8_gemv_bf16_split_1 : kernel == "split" ? int8_gemv_bf16_split : nullptr;
    auto run4 = kernel == "split-one" ? int4_gemv_bf16_split_1 : kernel == "split" ? int4_gemv_bf16_split : nullptr;
    if (int4 ? !run4 : !run) return 2;
    bool split = kernel.rfind("split", 0) == 0;
    FILE* in = fopen(argv[1], "rb");
    if (!in) return 3;
    int32_t hdr[4];
    if (fread(hdr, 4, 4, in) != 4) return 4;
    int n = hdr[0], k = hdr[1], m = hdr[2];
    std::vector<signed char> w; std::vector<float> scale; std::vector<unsigned short> x, bias, y((size_t)m * n);
    size_t weightBytes = int4 ? (size_t)n * k / 2 : (size_t)n * k, scales = int4 ? (size_t)n * (k / 64) : n;
    if (!read(in, w, weightBytes) || !read(in, scale, scales) || !read(in, x, (size_t)m * k) || (hdr[3] && !read(in, bias, n))) return 5;
    fclose(in);
    // The host's launch: 128 threads a block, 16 weight rows a block by rows, ROWS by columns.
    block_dim = THREADS;
    unsigned rows_per_block = split ? ROWS : WARPS * ROWS, blocks = (n + rows_per_block - 1) / rows_per_block;
    for (block_idx = 0; block_idx < blocks; block_idx++)
    {
        for (auto& b : warp_barrier) b = std::make_unique<std::barrier<>>(32);
        block_barrier = std::make_unique<std::barrier<>>(THREADS);
        std::vector<std::thread> threads;
        for (unsigned t = 0; t < THREADS; t++)
            threads.emplace_back([&, t] {
                lane_tid = t;
                if (int4) run4((const unsigned char*)w.data(), scale.data(), x.data(), hdr[3] ? bias.data() : nullptr, y.data(), n, k, m);
                else run(w.data(), scale.data(), x.data(), hdr[3] ? bias.data() : nullptr, y.data(), n, k, m);
            });
        for (auto& t : threads) t.join();
    }
    FILE* out = fopen(argv[2], "wb");
    if (!out || fwrite(y.data(), 2, y.size(), out) != y.size()) return 6;
    fclose(out);
    return 0;
}
