#!/usr/bin/env bash
# Regenerates src/Molmo/Runtime/Native/quant_gemv.ptx from quant_gemv.cu with clang's NVPTX back end: no CUDA toolkit needed
# (the source uses NVVM builtins instead of CUDA's headers). The PTX is embedded in the library and compiled for the GPU by its
# driver on first use (Runtime/CudaQuantGemv.cs). Run it after editing the .cu; a test checks the two agree.
# sm_80 PTX with ISA 7.0 runs on Ampere and later (the H100/H200 JIT it for sm_90).
set -euo pipefail
cd "$(dirname "$0")/.."
clang=${CLANG:-$(command -v clang++-14 || command -v clang++ || echo /usr/lib/llvm-14/bin/clang++)}
"$clang" -x cuda --cuda-device-only --cuda-gpu-arch=sm_80 -nocudainc -nocudalib -O3 -std=c++17 \
  -Xclang -target-feature -Xclang +ptx70 -S -o "${1:-src/Molmo/Runtime/Native/quant_gemv.ptx}" src/Molmo/Runtime/Native/quant_gemv.cu
