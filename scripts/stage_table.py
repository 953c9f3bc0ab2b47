#!/usr/bin/env python3
"""Per-stage table of dcodec on a set of PNGs: real file size against the model's ideal code length.

  scripts/stage_table.py [--model M] [--threads N] IMAGE.png ...
  scripts/stage_table.py --model models/cifar10.safetensors --cifar ../shared/datasets/cifar10 --limit 100

For every image: `dcodec encode -v` (timed) gives each stage's cumulative bytes, ideal bits (sum of -log2 P of the
coded symbols under the integer model) and PSNR; `dcodec info --json` gives the header size; `dcodec decode` of the
whole stream (timed) checks the lossless roundtrip. Prints means over the images per stage, as a Markdown table:
cumulative bpp (the real prefix size), cumulative ideal bpp (payload symbols only), PSNR of the mean
reconstruction, and the overheads: payload bytes over ideal, and the whole file (header, side information and
coder flush included) over ideal. With --cifar DIR the images are the first --limit held-out CIFAR-10 images (the
last 1,000 records of data_batch_5.bin, datasets/cifar10.h), written as PNGs to a temporary folder.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DCODEC = os.path.join(ROOT, "build", "dcodec")


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def write_png(path, rgb, width, height):
    """An 8-bit RGB PNG from interleaved bytes."""
    def chunk(kind, body):
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")
    rows = b"".join(b"\0" + rgb[y * width * 3:(y + 1) * width * 3] for y in range(height))
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def cifar_holdout_pngs(cifar_dir, limit, out_dir):
    with open(os.path.join(cifar_dir, "data_batch_5.bin"), "rb") as f:
        data = f.read()
    held = data[-1000 * 3073:]
    paths = []
    for i in range(min(limit, 1000)):
        planes = held[i * 3073 + 1:(i + 1) * 3073]
        rgb = bytes(planes[c * 1024 + p] for p in range(1024) for c in range(3))
        paths.append(os.path.join(out_dir, f"cifar_holdout_{i:03d}.png"))
        write_png(paths[-1], rgb, 32, 32)
    return paths


def run(args):
    t0 = time.monotonic()
    p = subprocess.run([DCODEC] + args, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"stage_table: dcodec {' '.join(args)} failed ({p.returncode}): {p.stderr.strip()}")
    return p, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="")
    ap.add_argument("--threads", default="2")
    ap.add_argument("--cifar", default="", help="CIFAR-10 folder: use its held-out images")
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("images", nargs="*")
    a = ap.parse_args()
    model = ["--model", a.model] if a.model else []
    rows = []  # per image: list of (cum_bytes, ideal_bits, psnr), header bytes, pixels, seconds
    with tempfile.TemporaryDirectory() as tmp:
        stream, decoded = os.path.join(tmp, "x.dcd"), os.path.join(tmp, "x.png")
        images = cifar_holdout_pngs(a.cifar, a.limit, tmp) if a.cifar else a.images[: a.limit]
        if not images:
            sys.exit("stage_table: no images (give PNG paths or --cifar DIR)")
        for path in images:
            p, enc_s = run(["encode", path, "-o", stream, "-f", "-v", "--threads", a.threads] + model)
            stages = []
            for line in p.stderr.splitlines():
                # "stage t bytes bpp ideal-bpp PSNR": PSNR is "NN.NN dB", or "lossless" for the pixel stage.
                f = line.split()
                if len(f) in (6, 7) and f[0].isdigit():
                    psnr = float("inf") if f[5] == "lossless" else float(f[5])
                    stages.append((int(f[2]), float(f[4]), psnr))
            info = json.loads(run(["info", stream, "--json"])[0].stdout)
            _, dec_s = run(["decode", stream, "-o", decoded, "-f", "--threads", a.threads] + model)
            w, h = png_size(path)
            rows.append({"stages": stages, "header": info["header_bytes"], "pixels": w * h, "enc": enc_s,
                         "dec": dec_s, "bytes": info["bytes"]})
    n = len(rows)
    k = min(len(r["stages"]) for r in rows)
    print(f"{n} images; encode {sum(r['enc'] for r in rows) / n:.2f} s, decode {sum(r['dec'] for r in rows) / n:.2f} s "
          f"per image ({a.threads} threads, process start and model load included)")
    print()
    print("| stage | bpp (real) | ideal bpp | PSNR (dB) | payload / ideal | file / ideal |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for j in range(k):
        bpp = ideal = payload_ratio = file_ratio = psnr = 0.0
        finite = True
        for r in rows:
            cum_bytes = r["stages"][j][0]
            ideal_bits = sum(s[1] for s in r["stages"][: j + 1]) * r["pixels"]
            bpp += cum_bytes * 8 / r["pixels"]
            ideal += ideal_bits / r["pixels"]
            payload_ratio += (cum_bytes - r["header"]) * 8 / ideal_bits
            file_ratio += cum_bytes * 8 / ideal_bits
            psnr += r["stages"][j][2]
            finite &= r["stages"][j][2] != float("inf")
        label = f"{j + 1}" + ("" if finite else " (lossless)")
        psnr_cell = f"{psnr / n:.2f}" if finite else "exact"
        print(f"| {label} | {bpp / n:.3f} | {ideal / n:.3f} | {psnr_cell} | {payload_ratio / n:.4f} | "
              f"{file_ratio / n:.4f} |")


if __name__ == "__main__":
    main()
