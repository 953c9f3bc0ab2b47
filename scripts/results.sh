#!/usr/bin/env bash
# Reproduces the README's results with the shipped models (needs ../shared/datasets). Each block is one command;
# run one with e.g. `scripts/results.sh photos`. Results land in results/.
set -euo pipefail
cd "$(dirname "$0")/.."
data=../shared/datasets
mkdir -p results
what=${1:-all}
if [[ $what == all || $what == photos ]]; then
  build/dcodec rd --images $data/photos/dev -o results/photos_dev.json --plot results/photos_dev.png \
    --psnr-targets 27,30.5,34,37.5,41
fi
if [[ $what == all || $what == cifar ]]; then
  build/dcodec rd --images cifar10:$data/cifar10 --model models/cifar10.safetensors --limit 500 \
    -o results/cifar10.json --plot results/cifar10.png
fi
if [[ $what == all || $what == stages ]]; then
  # Per-stage real size against the model's ideal code length, and CLI encode/decode seconds.
  scripts/stage_table.py $data/photos/dev/*.png | tee results/stages_photos_dev.md
  scripts/stage_table.py --model models/cifar10.safetensors --cifar $data/cifar10 --limit 100 \
    | tee results/stages_cifar10.md
fi
if [[ $what == all || $what == bench ]]; then
  # Lossless (checked bit for bit), then the default quality; where the time goes; peak memory per row.
  build/dcodec bench --image $data/photos/dev/wiki_001.png --threads 2 --repeats 2 | tee results/bench.txt
  build/dcodec bench --image $data/photos/dev/wiki_001.png --threads 2 --repeats 2 -q 75 --sizes 256x256,768x512 \
    | tee -a results/bench.txt
fi
if [[ $what == all || $what == lossless ]]; then
  # Lossless references on photos/dev: the PNG files as stored (zopfli) and JPEG XL lossless (-d 0 -e 7).
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  python3 - "$data/photos/dev" "$tmp" <<'PY' | tee results/lossless_refs.txt
import os, subprocess, struct, sys
d, tmp = sys.argv[1], sys.argv[2]
png_bpp, jxl_bpp = [], []
for f in sorted(os.listdir(d)):
    p = os.path.join(d, f)
    with open(p, 'rb') as fh:
        head = fh.read(24)
    w, h = struct.unpack('>II', head[16:24])
    png_bpp.append(os.path.getsize(p) * 8 / (w * h))
    out = os.path.join(tmp, 'x.jxl')
    subprocess.run(['cjxl', p, out, '-d', '0', '-e', '7', '--num_threads=1'], check=True, capture_output=True)
    jxl_bpp.append(os.path.getsize(out) * 8 / (w * h))
print(f"{len(png_bpp)} images: PNG (zopfli) {sum(png_bpp)/len(png_bpp):.3f} bpp, "
      f"JPEG XL lossless -e 7 {sum(jxl_bpp)/len(jxl_bpp):.3f} bpp (means over images)")
PY
fi
