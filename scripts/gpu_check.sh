#!/usr/bin/env bash
# The codec on a lent GPU machine (issue 25): speed at 768x512 and 4000x3000, and streams that cross devices.
#
# Here, once per checkout (downloads the Debian packages the device build needs into .gpu-debs/, ignored by git):
#   scripts/gpu_check.sh prepare
# Then through the device tool (a few minutes; the build is most of it):
#   run(command="scripts/gpu_check.sh run", carry=[".gpu-debs"], timeout_s=560)
# `run` unpacks the packages, builds dcodec with -DDCODEC_DEVICE_BUILD=ON (every command but `rd`) against the
# LibTorch inside the python3 torch package, then, with the shipped photo model:
#   1. dcodec bench --device cuda at the default quality, 768x512 and 4000x3000 (time, where it goes, peak memory),
#      and the same 768x512 row on the machine's CPU cores for comparison;
#   2. a synthetic 768x512 photo-like image encoded on each device at the default quality and losslessly, each
#      stream decoded on both devices: the two pictures must be identical (and the lossless ones the input).
# Everything it prints also goes to $OUT/gpu_check.txt. `scripts/gpu_check.sh local` runs steps 1-2 here on the
# CPU with build/dcodec on a 96x64 image (the cuda rows then say the device is missing; DEVICE=cpu runs the
# cross-device steps with the CPU on both sides), to test the script itself.
set -uo pipefail
cd "$(dirname "$0")/.."
debs=.gpu-debs
packages=(libcli11-dev nlohmann-json3-dev libxxhash-dev libxxhash0 libpng-dev libpng16-16 zlib1g-dev zlib1g
          libzstd-dev libzstd1 libjpeg62-turbo-dev libjpeg62-turbo libwebp-dev libwebp7 libwebpdemux2 libwebpmux3)
out=${OUT:-/tmp/dcodec-gpu-check}

checks() {
  local bin=$1 gpu=$2 work
  work=$(mktemp -d)
  echo "== bench on $gpu, default quality"
  "$bin" bench --device "$gpu" --threads 2 -q 75 --sizes "${GPU_SIZES:-768x512,4000x3000}" ||
    echo "(bench on $gpu failed)"
  echo "== bench on the CPU ($(nproc) cores), default quality"
  "$bin" bench --device cpu --threads "$(nproc)" -q 75 --sizes "${CPU_SIZES:-768x512}" || echo "(bench on cpu failed)"
  echo "== streams across devices"
  local w=${PHOTO_W:-768} h=${PHOTO_H:-512}
  python3 - "$work/photo.ppm" "$w" "$h" <<'EOF'
import math, random, sys
w, h = int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(5)
pixels = bytearray()
for y in range(h):
    for x in range(w):
        inside = h // 3 <= y < 2 * h // 3 and w // 3 <= x < 2 * w // 3  # edges
        for c in range(3):
            v = (40, 160, 90)[c] if inside else 128 + 80 * math.sin(x / 64 + c) * math.cos(0.7 * y / 64 - c)
            pixels.append(max(0, min(255, int(v + rng.gauss(0, 6)))))  # texture
with open(sys.argv[1], "wb") as f:
    f.write(b"P6\n%d %d\n255\n" % (w, h) + bytes(pixels))
EOF
  local failures=0
  for mode in "-q 75" "--lossless"; do
    for enc in cpu "$gpu"; do
      local name="$work/${enc//:/_}${mode// /}"
      if ! "$bin" encode --device "$enc" $mode --threads 2 "$work/photo.ppm" -o "$name.dcd" -f; then
        echo "encode on $enc ($mode): FAILED"; failures=$((failures + 1)); continue
      fi
      for dec in cpu "$gpu"; do
        "$bin" decode --device "$dec" --threads 2 "$name.dcd" -o "$name.$dec.ppm" -f || {
          echo "encode on $enc ($mode), decode on $dec: FAILED"; failures=$((failures + 1)); }
      done
      if cmp -s "$name.cpu.ppm" "$name.$gpu.ppm"; then
        echo "encode on $enc ($mode, $(stat -c %s "$name.dcd") bytes): the same picture decoded on cpu and $gpu"
      else
        echo "encode on $enc ($mode): cpu and $gpu decodes DIFFER"; failures=$((failures + 1))
      fi
      if [ "$mode" = "--lossless" ] && ! cmp -s <(tail -c $((w * h * 3)) "$work/photo.ppm") <(tail -c $((w * h * 3)) "$name.cpu.ppm"); then
        echo "encode on $enc (lossless): not the input"; failures=$((failures + 1))
      fi
    done
    cmp -s "$work/cpu${mode// /}.dcd" "$work/${gpu//:/_}${mode// /}.dcd" && echo "($mode: cpu and $gpu wrote the same bytes)" \
      || echo "($mode: cpu and $gpu wrote different bytes: expected where ε fell within the portable margin)"
  done
  echo "cross-device failures: $failures"
  rm -rf "$work"
}

case "${1:-}" in
  prepare)
    mkdir -p "$debs"
    grep -qx '/.gpu-debs/' .git/info/exclude 2>/dev/null || echo '/.gpu-debs/' >> .git/info/exclude
    (cd "$debs" && apt-get download "${packages[@]}")
    ls -la "$debs"
    ;;
  run)
    source scripts/gpu_env.sh
    gpu_env "$debs"
    mkdir -p "$out"
    start=$(date +%s)
    cmake -S . -B build-gpu-codec -G Ninja -DCMAKE_BUILD_TYPE=Release -DDCODEC_DEVICE_BUILD=ON \
      "${gpu_cmake_paths[@]}" > "$out/cmake.log" 2>&1 \
      || { tail -40 "$out/cmake.log"; exit 1; }
    cmake --build build-gpu-codec -j"$(nproc)" > "$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
    echo "built in $(( $(date +%s) - start )) s"
    checks build-gpu-codec/dcodec cuda 2>&1 | tee "$out/gpu_check.txt"
    ;;
  local)
    mkdir -p "$out"
    GPU_SIZES=64x64 CPU_SIZES=64x64 PHOTO_W=96 PHOTO_H=64 checks build/dcodec "${DEVICE:-cuda}" 2>&1 |
      tee "$out/gpu_check.txt"
    ;;
  *)
    echo "usage: scripts/gpu_check.sh prepare | run | local" >&2
    exit 2
    ;;
esac
