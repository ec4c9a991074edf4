#pragma once
// Stand-in for the part of the libtorch / CUDA runtime API that src/Molmo/Runtime/Native/molmo_cuda_graph.cpp uses, with the
// real signatures (torch 2.x), so that its syntax is checked here without a CUDA toolkit (CudaGraphBuildTests).
#include <utility>
#include <c10/cuda/CUDAStream.h>
namespace at::cuda {
using CUDAStream = c10::cuda::CUDAStream;
using MempoolId_t = std::pair<unsigned long long, unsigned long long>;
struct CUDAGraph { CUDAGraph(bool keep_graph = false); ~CUDAGraph(); void capture_begin(MempoolId_t pool = {0, 0}, cudaStreamCaptureMode capture_mode = cudaStreamCaptureModeGlobal); void capture_end(); void replay(); };
}
