#!/usr/bin/env python3
"""The rate audit of dcodec on a set of PNGs: per stage, where the bytes go.

  scripts/stage_table.py [--model M] [--threads N] IMAGE.png ...
  scripts/stage_table.py --model models/cifar10.safetensors --cifar ../shared/datasets/cifar10 --limit 100

For every image, `dcodec encode --report` (timed) gives each stage's real bytes, the ideal code length of its
symbols under the integer model (sum of -log2 P), its side information and check bits, the fixed bytes (header,
side information, checks, coder flush: real bytes minus ideal bits / 8), the model's own cost of the stage (the KL
of q(x_s | x_t, x_0) from p_theta(x_s | x_t) that an ideal coder of Algorithm 3 would pay; for the pixel stage the
discretized Gaussian at the best single sigma) and the PSNR of the prefix; `dcodec decode` of the whole stream
(timed) checks that it decodes. Prints means over the images per stage as a Markdown table. With --cifar DIR the
images are the first --limit held-out CIFAR-10 images (the last 1,000 records of data_batch_5.bin,
datasets/cifar10.h), written as PNGs to a temporary folder.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DCODEC = os.path.join(ROOT, "build", "dcodec")


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
    reports = []
    with tempfile.TemporaryDirectory() as tmp:
        stream, decoded, report = (os.path.join(tmp, n) for n in ("x.dcd", "x.png", "x.json"))
        images = cifar_holdout_pngs(a.cifar, a.limit, tmp) if a.cifar else a.images[: a.limit]
        if not images:
            sys.exit("stage_table: no images (give PNG paths or --cifar DIR)")
        for path in images:
            _, enc_s = run(["encode", path, "-o", stream, "-f", "--quiet", "--lossless", "--report", report, "--threads", a.threads]
                           + model)
            _, dec_s = run(["decode", stream, "-o", decoded, "-f", "--quiet", "--threads", a.threads] + model)
            with open(report) as f:
                r = json.load(f)
            r["enc"], r["dec"] = enc_s, dec_s
            reports.append(r)
    n = len(reports)
    k = min(len(r["stages"]) for r in reports)
    print(f"{n} images; encode {sum(r['enc'] for r in reports) / n:.2f} s, decode "
          f"{sum(r['dec'] for r in reports) / n:.2f} s per image ({a.threads} threads, process start and model load "
          f"included); header {sum(r['header_bytes'] for r in reports) / n:.1f} bytes")
    print()
    print("| stage | t | bpp (real, cumulative) | stage bpp | ideal bpp | model's own bpp (KL) | side + check bits | "
          "fixed bytes | PSNR (dB) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    total_fixed = 0.0
    for j in range(k):
        sums = dict(cum=0.0, stage=0.0, ideal=0.0, model=0.0, side=0.0, fixed=0.0, psnr=0.0)
        lossless = False
        for r in reports:
            s, px = r["stages"][j], r["width"] * r["height"]
            sums["cum"] += s["cumulative_bytes"] * 8 / px
            sums["stage"] += s["bytes"] * 8 / px
            sums["ideal"] += s["ideal_bits"] / px
            sums["model"] += s.get("model_bits", 0.0) / px
            sums["side"] += s["side_bits"] + s["check_bits"]
            sums["fixed"] += s["fixed_bytes"]
            if s.get("psnr") == "lossless":
                lossless = True
            else:
                sums["psnr"] += s.get("psnr", float("nan"))
        total_fixed += sums["fixed"] / n
        t = reports[0]["stages"][j]["timestep"]
        psnr = "exact" if lossless else f"{sums['psnr'] / n:.2f}"
        print(f"| {j + 1}{' (lossless)' if lossless else ''} | {t} | {sums['cum'] / n:.3f} | {sums['stage'] / n:.3f} | "
              f"{sums['ideal'] / n:.3f} | {sums['model'] / n:.3f} | {sums['side'] / n:.1f} | {sums['fixed'] / n:.2f} | "
              f"{psnr} |")
    whole = sum(r["bytes"] * 8 / (r["width"] * r["height"]) for r in reports) / n
    ideal = sum(sum(s["ideal_bits"] for s in r["stages"]) / (r["width"] * r["height"]) for r in reports) / n
    print()
    print(f"whole file {whole:.3f} bpp = ideal {ideal:.3f} bpp x {whole / ideal:.4f}; fixed bytes per file "
          f"{total_fixed:.1f}")


if __name__ == "__main__":
    main()
