// CUDA graph capture and replay for Molmo's fixed-shape decode step, through libtorch's own at::cuda::CUDAGraph (which
// keeps the caching allocator consistent while it records). TorchSharp 0.107 binds no CUDA graphs or streams, so this file
// is compiled on first use against the libtorch the process runs on (Runtime/CudaGraph.cs) and called through a C ABI.
// Every function returns 0 on success; on failure, molmo_graph_last_error() says why.
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>

#include <exception>
#include <optional>
#include <stdexcept>
#include <string>

namespace {

thread_local std::string last_error;

struct Recorder {
  explicit Recorder(c10::cuda::CUDAStream s) : stream(s) {}
  at::cuda::CUDAGraph graph;
  c10::cuda::CUDAStream stream;                      // graphs are recorded on a side stream, never on the default one
  std::optional<c10::cuda::CUDAStreamGuard> guard;   // while set, libtorch issues onto `stream`
};

template <class F>
int guarded(F f) {
  try {
    f();
    return 0;
  } catch (const std::exception& e) {
    last_error = e.what();
  } catch (...) {
    last_error = "unknown C++ exception";
  }
  return 1;
}

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(e));
}

// `waiter` starts only after all that `on` has queued so far. (Plain CUDA runtime calls: ATen's event class would pull in
// the cuBLAS/cuSPARSE/cuSOLVER headers, which a machine with only the CUDA runtime's headers lacks.)
void wait_for(c10::cuda::CUDAStream waiter, c10::cuda::CUDAStream on) {
  cudaEvent_t event;
  check(cudaEventCreateWithFlags(&event, cudaEventDisableTiming), "cudaEventCreateWithFlags");
  cudaError_t recorded = cudaEventRecord(event, on.stream());
  cudaError_t waited = recorded == cudaSuccess ? cudaStreamWaitEvent(waiter.stream(), event, 0) : recorded;
  cudaEventDestroy(event);   // safe once the wait is queued: CUDA releases it when the wait is done
  check(waited, "ordering the recording stream after the current one");
}

}  // namespace

extern "C" {

const char* molmo_graph_last_error() { return last_error.c_str(); }

void* molmo_graph_new() {
  Recorder* r = nullptr;
  if (guarded([&] { r = new Recorder(c10::cuda::getStreamFromPool()); }) != 0) return nullptr;
  return r;
}

// on != 0: libtorch issues onto the side stream from now on (after what the current stream has queued); 0: back to the
// stream that was current, which then waits for the side stream. Warm-up runs go there before recording.
int molmo_graph_use_side_stream(void* h, int on) {
  return guarded([&] {
    auto r = static_cast<Recorder*>(h);
    if (on) {
      wait_for(r->stream, c10::cuda::getCurrentCUDAStream());
      r->guard.emplace(r->stream);
    } else if (r->guard) {
      r->guard.reset();
      wait_for(c10::cuda::getCurrentCUDAStream(), r->stream);
    }
  });
}

int molmo_graph_begin(void* h) {
  return guarded([&] {
    auto r = static_cast<Recorder*>(h);
    wait_for(r->stream, c10::cuda::getCurrentCUDAStream());
    r->guard.emplace(r->stream);
    try {
      // Thread-local capture: CUDA calls other threads make meanwhile (.NET's finalizer thread releasing tensors, say) do
      // not invalidate the recording; this thread issues nothing but the step.
      r->graph.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
    } catch (...) {
      r->guard.reset();
      throw;
    }
  });
}

int molmo_graph_end(void* h) {
  return guarded([&] {
    auto r = static_cast<Recorder*>(h);
    try {
      r->graph.capture_end();
    } catch (...) {
      r->guard.reset();
      throw;
    }
    r->guard.reset();
  });
}

// Launches the recorded graph on the current stream (ordered after what is queued there).
int molmo_graph_replay(void* h) {
  return guarded([&] { static_cast<Recorder*>(h)->graph.replay(); });
}

void molmo_graph_free(void* h) { delete static_cast<Recorder*>(h); }

// The stream libtorch issues onto now on this thread (a graph's side stream while it records or warms up; else the default
// stream, 0): where work launched outside libtorch (the int8 kernel) must go to stay in order with it, and to be recorded.
void* molmo_current_stream() { return c10::cuda::getCurrentCUDAStream().stream(); }

}  // extern "C"
