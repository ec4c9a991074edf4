#pragma once
// Stand-in for the part of the libtorch / CUDA runtime API that src/Molmo/Runtime/Native/molmo_cuda_graph.cpp uses, with the
// real signatures (torch 2.x), so that its syntax is checked here without a CUDA toolkit (CudaGraphBuildTests).
#include <c10/cuda/CUDAStream.h>
namespace c10::cuda {
struct CUDAStreamGuard { explicit CUDAStreamGuard(c10::Stream s); CUDAStreamGuard(const CUDAStreamGuard&) = delete; CUDAStreamGuard(CUDAStreamGuard&&) = delete; ~CUDAStreamGuard(); };
}
