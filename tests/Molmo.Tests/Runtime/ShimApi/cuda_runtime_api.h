#pragma once
// Stand-in for the part of the libtorch / CUDA runtime API that src/Molmo/Runtime/Native/molmo_cuda_graph.cpp uses, with the
// real signatures (torch 2.x), so that its syntax is checked here without a CUDA toolkit (CudaGraphBuildTests).
typedef int cudaError_t; enum { cudaSuccess = 0 };
typedef struct CUevent_st* cudaEvent_t; typedef struct CUstream_st* cudaStream_t;
enum cudaStreamCaptureMode { cudaStreamCaptureModeGlobal, cudaStreamCaptureModeThreadLocal, cudaStreamCaptureModeRelaxed };
#define cudaEventDisableTiming 2
cudaError_t cudaEventCreateWithFlags(cudaEvent_t*, unsigned); cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t);
cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t, unsigned); cudaError_t cudaEventDestroy(cudaEvent_t);
const char* cudaGetErrorString(cudaError_t);
