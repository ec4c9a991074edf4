#pragma once
// Stand-in for the part of the libtorch / CUDA runtime API that src/Molmo/Runtime/Native/molmo_cuda_graph.cpp uses, with the
// real signatures (torch 2.x), so that its syntax is checked here without a CUDA toolkit (CudaGraphBuildTests).
#include <cuda_runtime_api.h>
namespace c10 { struct Stream { long id; }; using DeviceIndex = signed char; }
namespace c10::cuda {
class CUDAStream { public: cudaStream_t stream() const; operator c10::Stream() const; };
CUDAStream getStreamFromPool(const bool isHighPriority = false, DeviceIndex device = -1);
CUDAStream getStreamFromPool(const int priority, DeviceIndex device = -1);
CUDAStream getCurrentCUDAStream(DeviceIndex device_index = -1);
}
