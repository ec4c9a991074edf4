// Runs the CUDA int8 decode kernel's own source (src/Molmo/Runtime/Native/int8_gemv.cu) on a CPU, for CudaInt8GemvTests:
// each warp as 32 threads, its lanes meeting at a barrier for every shuffle; warps and blocks one after another (the kernel
// shares nothing between warps). It checks the kernel's indexing, tails, reduction and conversions, not the GPU's compiler.
// Usage: int8_gemv_emulation IN OUT [one|general] (the one-row kernel, or the general one: the default). IN: int32 n, k, m, has_bias; int8 w[n·k]; float32 scale[n]; uint16 x[m·k]; uint16
// bias[n] (if has_bias). OUT: uint16 y[m·n] (bf16 bits).
#include <barrier>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

static thread_local unsigned lane_tid;    // threadIdx.x of the emulated thread
static unsigned block_dim, block_idx;     // blockDim.x, blockIdx.x
static float shuffle_slots[32];
static std::barrier<>* warp_barrier;

unsigned __nvvm_read_ptx_sreg_tid_x() { return lane_tid; }
unsigned __nvvm_read_ptx_sreg_ntid_x() { return block_dim; }
unsigned __nvvm_read_ptx_sreg_ctaid_x() { return block_idx; }

// shfl.sync.down with clamp 31: lane l gets lane l + offset's value, or its own where that is past the warp.
float __nvvm_shfl_sync_down_f32(unsigned, float v, int offset, int)
{
    unsigned lane = lane_tid & 31;
    shuffle_slots[lane] = v;
    warp_barrier->arrive_and_wait();
    float r = lane + offset < 32 ? shuffle_slots[lane + offset] : v;
    warp_barrier->arrive_and_wait();
    return r;
}

#define GLOBAL static
#define DEVICE static inline
#include "int8_gemv.cu"

template <class T> static bool read(FILE* f, std::vector<T>& v, size_t n) { v.resize(n); return fread(v.data(), sizeof(T), n, f) == n; }

int main(int argc, char** argv)
{
    if (argc != 3 && argc != 4) return 2;
    bool one = argc == 4 && std::string(argv[3]) == "one";
    FILE* in = fopen(argv[1], "rb");
    if (!in) return 3;
    int32_t hdr[4];
    if (fread(hdr, 4, 4, in) != 4) return 4;
    int n = hdr[0], k = hdr[1], m = hdr[2];
    std::vector<signed char> w; std::vector<float> scale; std::vector<unsigned short> x, bias, y((size_t)m * n);
    if (!read(in, w, (size_t)n * k) || !read(in, scale, n) || !read(in, x, (size_t)m * k) || (hdr[3] && !read(in, bias, n))) return 5;
    fclose(in);
    // The host's launch: 128 threads a block, 16 weight rows a block (CudaInt8Gemv.TryLaunch).
    block_dim = 128;
    unsigned blocks = (n + 15) / 16;
    for (block_idx = 0; block_idx < blocks; block_idx++)
        for (unsigned warp = 0; warp < block_dim / 32; warp++)
        {
            std::barrier<> bar(32);
            warp_barrier = &bar;
            std::vector<std::thread> lanes;
            for (unsigned lane = 0; lane < 32; lane++)
                lanes.emplace_back([&, lane] {
                    lane_tid = warp * 32 + lane;
                    (one ? int8_gemv_bf16_1 : int8_gemv_bf16)(w.data(), scale.data(), x.data(), hdr[3] ? bias.data() : nullptr, y.data(), n, k, m);
                });
            for (auto& t : lanes) t.join();
        }
    FILE* out = fopen(argv[2], "wb");
    if (!out || fwrite(y.data(), 2, y.size(), out) != y.size()) return 6;
    fclose(out);
    return 0;
}
