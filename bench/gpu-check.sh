#!/usr/bin/env bash
# The device check for a session lent an NVIDIA machine (Python torch with CUDA installed there), as one command:
#   bash bench/gpu-check.sh [OUTDIR]
# 1. builds without the bundled CPU libtorch and points the loader at Python torch's torch/lib (docs/gpu.md);
# 2. runs the golden model tests on CUDA (float32 tolerances unchanged);
# 3. runs the model benchmark on CUDA: 7B-D shapes bf16 (prefill 640x480 and 1920x1080, decode 128 tokens, batch 1/4/16),
#    then int8, each appending its Markdown table to OUTDIR/gpu-bench.md (default: $OUT if set, else /tmp).
# Every step prints a line starting with "== " so a truncated log still shows how far it got.
# A dry run without a GPU (checks the script itself; CPU libtorch from the NuGet cache, tiny shapes):
#   TORCH_LIB=~/.nuget/packages/libtorch-cpu-linux-x64/2.10.0/runtimes/linux-x64/native CHECK_DEVICE=cpu CHECK_ARCH=tiny bash bench/gpu-check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-/tmp}}
mkdir -p "$out"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
device=${CHECK_DEVICE:-cuda}
arch=${CHECK_ARCH:-7b-d}
T=${TORCH_LIB:-$(python3 -c "import torch,os;print(os.path.join(os.path.dirname(torch.__file__),'lib'))")} || { echo "== no Python torch here"; exit 1; }
export LD_LIBRARY_PATH=$T:${LD_LIBRARY_PATH:-} MOLMO_LIBTORCH=$T
echo "== torch/lib: $T"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
echo "== build"
dotnet build Molmo.sln -c Release -p:MolmoCpuLibTorch=false 2>&1 | tail -3
echo "== golden model tests on $device"
MOLMO_TEST_DEVICE=$device timeout 300 dotnet test tests/Molmo.Tests -c Release --no-build -p:MolmoCpuLibTorch=false \
  --filter "FullyQualifiedName~Molmo.Tests.Model" 2>&1 | grep -E "Passed!|Failed!|Failed |Error Message" -A2 | head -40
for dtype in bf16 int8; do
  echo "== $arch $dtype on $device"
  timeout 420 dotnet run -c Release --no-build --project bench/Molmo.Bench -- \
    model --arch "$arch" --dtype $dtype --device "$device" --batch 1,4,16 --append "$out/gpu-bench.md" 2>&1 | tail -20
done
echo "== done"
