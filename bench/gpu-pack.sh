#!/usr/bin/env bash
# Prepares the device check here, where the .NET SDK is: the lent GPU machines have Python torch with CUDA but no .NET SDK and
# no network. Writes .gpu/ (git-ignored; name it in the device call's `carry`):
#   .gpu/app.tar.xz   self-contained publish of Molmo.Bench and Molmo.Tests (whose SelfRunner runs the tests without an SDK),
#                     built without the CPU libtorch: the device machine's torch/lib is used instead;
#   .gpu/shared/      the golden files the model tests read: the tiny checkpoints with their 100×100 and text-only goldens,
#                     and the image tensors of the 100×100 and 480×640 inputs (the 480×640 goldens themselves are left out
#                     to stay under the 64 MiB a device call may carry; gpu-check.sh skips those cases).
# Then, on the device: bash bench/gpu-check.sh "$OUT"   (docs/gpu.md)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${MOLMO_SHARED:-../shared}
rm -rf .gpu && mkdir -p .gpu/pub .gpu/shared/golden/preprocessing
for p in bench/Molmo.Bench tests/Molmo.Tests; do
  # Built under .gpu/artifacts, not bin/ and obj/: a build without the CPU libtorch must not replace the local Release build.
  dotnet publish "$p" -c Release -r linux-x64 --self-contained -p:MolmoCpuLibTorch=false --artifacts-path .gpu/artifacts -o .gpu/pub 2>&1 | grep -E "error|warn" || true
done
# What a run does not need: debug symbols, the test platform (the self-runner replaces it), satellite resources.
(cd .gpu/pub && rm -rf ./*.pdb CodeCoverage Microsoft.CodeCoverage.* Microsoft.TestPlatform.* Microsoft.VisualStudio.* testhost.dll \
   createdump libmscordaccore.so libmscordbi.so cs de es fr it ja ko pl pt-BR ru tr zh-Hans zh-Hant)
tar -cf - -C .gpu pub | xz -T0 -6 > .gpu/app.tar.xz
rm -rf .gpu/pub .gpu/artifacts
for v in tiny_d_style tiny_o_style; do
  mkdir -p .gpu/shared/golden/$v
  (cd "$shared/golden/$v" && cp config.json model.safetensors ./*.greedy.json ./*.inputs.safetensors \
     img_100x100.golden.safetensors text_only.golden.safetensors "$OLDPWD/.gpu/shared/golden/$v/")
  cp -r "$shared/golden/$v/sharded" ".gpu/shared/golden/$v/"
done
cp "$shared/golden/preprocessing/"img_{100x100,480x640}.safetensors .gpu/shared/golden/preprocessing/
# SkiaSharp's native library needs fontconfig (and what it needs), which the device image lacks: carried from here, used there
# only where the machine has no libfontconfig of its own (gpu-check.sh).
mkdir -p .gpu/lib
for l in libfontconfig.so.1 libfreetype.so.6 libpng16.so.16 libbrotlidec.so.1 libbrotlicommon.so.1 libexpat.so.1; do
  cp -L "$(ldconfig -p | awk -v l=$l '$1==l && /x86-64/ {print $NF; exit}')" .gpu/lib/
done
du -sh .gpu .gpu/*
