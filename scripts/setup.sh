#!/usr/bin/env bash
# Sets a fresh Debian 12 machine up for dcodec and builds it. Idempotent: quick when everything is in place.
#   sudo scripts/setup.sh            (or as root)
# Installs the Debian packages dcodec needs, then configures and builds into build/.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config
  libtorch-dev libopenblas0-openmp          # LibTorch; OpenMP OpenBLAS (the reference BLAS is 2-5x slower)
  libgloo-dev                               # Gloo headers: data-parallel dcodec train (torch.distributed)
  libpng-dev libzstd-dev libxxhash-dev
  libjpeg62-turbo-dev                       # JPEG input (datasets/jpeg.h)
  libwebp-dev                               # WebP input (datasets/webp.h)
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev
  clang-14 libclang-rt-14-dev               # scripts/fuzz.sh: libFuzzer + ASan/UBSan
  gnuplot-nox                               # dcodec rd --plot
  butteraugli                               # dcodec rd: the perceptual distance (eval/butteraugli.h)
  libcairo2-dev fonts-dejavu-core           # dcodec decode --strip
  pybind11-dev python3-dev python3-numpy    # the Python module (python/)
  libjpeg-turbo-progs webp libjxl-tools libavif-bin   # classic codecs for dcodec rd --compare
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
echo "setup: built build/dcodec"
