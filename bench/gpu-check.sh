#!/usr/bin/env bash
# The device check for a session lent an NVIDIA machine, in one call. That machine has Python torch with CUDA but no .NET SDK
# and no network, so first, here:   bash bench/gpu-pack.sh          (writes the git-ignored .gpu/)
# then one device call with carry [".gpu"]:   bash bench/gpu-check.sh "$OUT"        (timeout_s 600)
# It runs, against Python torch's own libtorch (torch/lib, found through python3):
#   0. bench graphs: whether the CUDA graph shim builds there (it is compiled on first use and cached), whether a recorded
#      chain of ops replays correctly, and µs per op issued vs replayed;
#   1. the golden model tests on CUDA, float32 tolerances unchanged (the published Molmo.Tests runs itself: SelfRunner), and
#      the prefix cache's tests (a continued prompt takes the grouped-GEMM attention route there);
#      among them the CUDA graph step, whose shim is compiled there on first use (it prints whether graphs are available);
#   2. the host's cost of issuing a 7B-D-structured decode step on CUDA (bench steps: libtorch calls and ms per step, the
#      launch-bound floor of decode, and the host time of single ops by kind), appended to OUTDIR/gpu-bench.md;
#   3. the model benchmark, 7B-D shapes, bf16 then int8: load, peak device memory, prefill 640×480 and 1920×1080, decode 128
#      tokens, batches of 1, 4 and 16 (int8: 1 and 16), steps as the engine issues them by default (each replayed as a CUDA
#      graph, int8's kernel recorded into it), in alternating rounds against: for bf16, eager steps queued one ahead
#      (--compare queued); for int8, the same graph steps with the kernel sharing each matrix out by rows, as first measured,
#      instead of by columns, and with the matrices dequantised for cuBLAS instead of the kernel (--compare
#      int8-by-rows,int8-dequant). CHECK_BF16_MODES / CHECK_INT8_MODES change them ("--compare-sync": queued against
#      read-back steps; empty: no comparison). Also the device's read bandwidth; tables appended to OUTDIR/gpu-bench.md.
#   CHECK_DTYPES=int4 (a rerun, if time is left) measures int4: graph steps with the CUDA int4 kernel against the matrices
#   dequantised for cuBLAS (--compare int4-dequant); its golden and kernel tests are among step 1's.
#   The golden tests of step 1 include the int8 kernel's own (CudaQuantGemvTests: 7B-D widths, 1–16 rows, bias) and --dtype int8
#   decoding the tiny checkpoints through it (Int8DecodeOnTheTestDeviceTests).
# Every step prints a line starting with "== " and has a timeout, so a cut-off log still shows how far it got.
# Dry run without a GPU (checks the script and the package; CPU libtorch from the NuGet cache, tiny shapes):
#   TORCH_LIB=~/.nuget/packages/libtorch-cpu-linux-x64/2.10.0/runtimes/linux-x64/native CHECK_DEVICE=cpu CHECK_ARCH=tiny bash bench/gpu-check.sh /tmp/gpu-dry
set -uo pipefail
cd "$(dirname "$0")/.."
trap 'rm -rf .gpu/pub' EXIT   # the unpacked apps (over 100 MB) must not stay in .gpu, which a device call carries (64 MiB)
out=${1:-${OUT:-/tmp}}
mkdir -p "$out"
device=${CHECK_DEVICE:-cuda}
arch=${CHECK_ARCH:-7b-d}
[ -f .gpu/app.tar.xz ] || { echo "== .gpu/app.tar.xz is missing: run bench/gpu-pack.sh here first and carry .gpu"; exit 1; }
T=${TORCH_LIB:-$(python3 -c "import torch,os;print(os.path.join(os.path.dirname(torch.__file__),'lib'))")} || { echo "== no Python torch here"; exit 1; }
export LD_LIBRARY_PATH=$T:${LD_LIBRARY_PATH:-} MOLMO_LIBTORCH=$T MOLMO_SHARED=$PWD/.gpu/shared
echo "== torch/lib: $T"
# SkiaSharp (image decoding) needs libfontconfig.so.1; the device image has none, so the copies gpu-pack.sh carried are used.
ldconfig -p | grep -q "libfontconfig.so.1 " || { export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$PWD/.gpu/lib; echo "== no libfontconfig here: using .gpu/lib"; }
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
rm -rf .gpu/pub && tar -xJf .gpu/app.tar.xz -C .gpu || { echo "== unpacking failed"; exit 1; }
echo "== CUDA graphs on $device"
timeout 90 .gpu/pub/Molmo.Bench graphs --device "$device" 2>&1 | tee -a "$out/gpu-bench.md" | tail -8
if [ "${CHECK_TESTS:-1}" = 1 ]; then   # CHECK_TESTS=0: the benchmarks alone (a rerun after the tests have passed)
  echo "== golden model tests on $device"
  # (InstructionSetTests reruns CPU kernel tests in child processes: nothing of the device's, and time the step lacks.)
  MOLMO_TEST_DEVICE=$device timeout 120 .gpu/pub/Molmo.Tests --filter Molmo.Tests.Model --filter Molmo.Tests.Generation.PrefixCacheTests \
    --exclude img_480x640 --exclude FullSizeArchitecture --exclude InstructionSetTests 2>&1 | tee "$out/gpu-tests.log" | tail -25
fi
if [ "${CHECK_STEPS:-1}" = 1 ]; then   # CHECK_STEPS=0: without the host-cost benchmark
  echo "== decode step issue cost on $device"
  timeout 40 .gpu/pub/Molmo.Bench steps --device "$device" --dtype bf16 --batch 1,16 --steps 300 --ops 2>&1 | tee -a "$out/gpu-bench.md" | tail -26
fi
for dtype in ${CHECK_DTYPES:-bf16 int8}; do   # CHECK_DTYPES=bf16: that one alone
  echo "== $arch $dtype on $device"
  # The step timeouts add up to the 600 s a device call may take; int8 times batches 1 and 16 only (CHECK_INT8_BATCH).
  timeout $([ $dtype = bf16 ] && echo 230 || echo 120) .gpu/pub/Molmo.Bench model --arch "$arch" --dtype $dtype --device "$device" \
    --batch $([ $dtype = bf16 ] && echo ${CHECK_BATCH:-1,4,16} || echo ${CHECK_INT8_BATCH:-1,16}) \
    $([ $dtype = bf16 ] && echo ${CHECK_BF16_MODES---compare queued} || { [ $dtype = int8 ] && echo ${CHECK_INT8_MODES---compare int8-by-rows,int8-dequant} || echo --compare int4-dequant; }) \
    --append "$out/gpu-bench.md" 2>&1 | tail -26
done
echo "== done"
