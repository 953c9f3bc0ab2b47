#!/usr/bin/env bash
# Trains on a lent GPU machine (an image with CUDA PyTorch, CMake and ninja, but no apt and no -dev packages).
#
# Here, once per checkout (downloads the few Debian packages the trainer-only build needs into .gpu-debs/, which
# git ignores through .git/info/exclude):
#   scripts/gpu_train.sh prepare
# Then through the device tool, carrying .gpu-debs and the training data folder (copied into the checkout, also
# ignored), e.g.:
#   run(command="scripts/gpu_train.sh run --data cifar10:gpu-data/cifar10 --init models/cifar10.safetensors \
#                --preset small --batch 256 --lr 2e-4 --steps 20000 --chain 400,162,45,10 --chain-fraction 0.5",
#       carry=[".gpu-debs", "gpu-data"], timeout_s=560)
# The photo model's campaign (the part-8 options, photos/train copied to gpu-data/photos; bf16 autocast, which the
# H100's tensor cores run, weights and model file in float32):
#   run(command="scripts/gpu_train.sh run --data images:gpu-data/photos --init models/photo.safetensors \
#                --preset small --crop 64 --batch 256 --lr 2e-4 --warmup 50 --seed 71 --steps 20000 --precision bf16 \
#                --chain 400,290,190,115,66,36,19,10 --chain-fraction 0.5 --scale-head --rate-weight 0.1 \
#                --gaussian-stages 6", carry=[".gpu-debs", "gpu-data"], timeout_s=560)
# `run` unpacks the packages, builds dcodec with -DDCODEC_TRAINER_ONLY=ON against the LibTorch inside the python3
# torch package, trains with --device cuda into $OUT/run (checkpoints there, so a run cut off by the time limit
# still brings its last model.safetensors back), and stops itself before the call's limit (TRAIN_SECONDS, default
# 420). Its arguments after `run` go to `dcodec train`.
set -euo pipefail
cd "$(dirname "$0")/.."
debs=.gpu-debs
packages=(libcli11-dev nlohmann-json3-dev libxxhash-dev libxxhash0 libpng-dev libpng16-16 zlib1g-dev zlib1g)

case "${1:-}" in
  prepare)
    mkdir -p "$debs"
    grep -qx '/.gpu-debs/' .git/info/exclude 2>/dev/null || echo '/.gpu-debs/' >> .git/info/exclude
    grep -qx '/gpu-data/' .git/info/exclude 2>/dev/null || echo '/gpu-data/' >> .git/info/exclude
    (cd "$debs" && apt-get download "${packages[@]}")
    ls -la "$debs"
    ;;
  run)
    shift
    source scripts/gpu_env.sh
    gpu_env "$debs"
    start=$(date +%s)
    cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DDCODEC_TRAINER_ONLY=ON \
      "${gpu_cmake_paths[@]}" > "${OUT:-/tmp}/cmake.log" 2>&1 \
      || { tail -40 "${OUT:-/tmp}/cmake.log"; exit 1; }
    cmake --build build-gpu -j"$(nproc)" 2>&1 | tail -5
    echo "built in $(( $(date +%s) - start )) s"
    out=${OUT:-/tmp/dcodec-gpu-out}
    mkdir -p "$out/run"
    # The trainer checkpoints on SIGTERM: stop it before the device call's limit.
    timeout --signal=TERM "${TRAIN_SECONDS:-420}" build-gpu/dcodec train --device cuda --run "$out/run" \
      --checkpoint-seconds 60 "$@" 2>&1 | tr '\r' '\n' | awk 'NR % 50 == 0 || /checkpoint|error|model written/' \
      | tail -60 || true
    rm -f "$out/run/checkpoint.pt"  # the optimizer state is too large to bring back; the model file comes back
    ls -la "$out/run"
    ;;
  *)
    echo "usage: scripts/gpu_train.sh prepare | run TRAIN-ARGS..." >&2
    exit 2
    ;;
esac
