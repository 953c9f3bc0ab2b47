#!/usr/bin/env python3
"""Markdown tables from a `dcodec rd` results JSON, as the README shows them.

  scripts/rd_tables.py results/photos_dev.json

Prints the BD-rates (PSNR, MS-SSIM and, when measured, the butteraugli distance; against JPEG and against the best
classic codec; of the averaged curves, and the mean of the images' own BD-rates against JPEG) of every codec, then dcodec's operating points (one per stage prefix, and with `rd --psnr-targets` one
per target, means over the images) and its lossless rate.
"""
import json
import sys


def pct(v):
    return "–" if v is None else f"{v:+.1f}%"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        d = json.load(f)
    best = d.get("best_classic", "")
    print(f"{d['num_images']} images; best classic codec by BD-rate against JPEG: {best}")
    print()
    bd = d.get("bd_rate", {})
    perceptual = any("butteraugli" in c["results"] for c in d["codecs"])
    extra = " (butteraugli) |" if perceptual else ""
    print(f"| codec | BD-rate vs JPEG (PSNR) | (MS-SSIM) |{extra} BD-rate vs {best} (PSNR) | (MS-SSIM) |{extra}"
          " per-image BD-rates vs JPEG, mean (PSNR) | (MS-SSIM) |" + (" (butteraugli) |" if perceptual else ""))
    print("| --- | ---: | ---: | ---: | ---: |" + (" ---: | ---: |" if perceptual else "") + " ---: | ---: |" +
          (" ---: |" if perceptual else ""))
    for c in d["codecs"]:
        name = c["name"]
        cells = []
        for ref in ("vs_jpeg", "vs_best_classic"):
            v = bd.get(name, {}).get(ref, {})
            keys = ["bd_rate_psnr_percent", "bd_rate_ms_ssim_percent"] + (["bd_rate_butteraugli_percent"] if perceptual else [])
            cells += [pct(v.get(k)) for k in keys]
        v = bd.get(name, {}).get("vs_jpeg", {})
        cells += [pct(v.get("per_image_bd_rate_psnr_percent")), pct(v.get("per_image_bd_rate_ms_ssim_percent"))]
        if perceptual:
            cells.append(pct(v.get("per_image_bd_rate_butteraugli_percent")))
        print(f"| {name} | " + " | ".join(cells) + " |")
    for c in d["codecs"]:
        if not c["name"].startswith("dcodec"):
            continue
        r = c["results"]
        print()
        print(f"{c['name']} operating points (means over the images):")
        print()
        b = r.get("butteraugli")
        targets = d.get("psnr_targets") if c["name"] == "dcodec-psnr" else None
        if targets and len(targets) != len(r["bpp"]):
            targets = None
        label = "PSNR target (dB)" if targets else "stage"
        print(f"| {label} | bpp | PSNR (dB) | MS-SSIM |" + (" butteraugli |" if b else "") + " encode s | decode s (cumulative) |")
        print("| --- | ---: | ---: | ---: |" + (" ---: |" if b else "") + " ---: | ---: |")
        for i in range(len(r["bpp"])):
            dist = (f" {b[i]:.2f} |" if b[i] is not None else " – |") if b else ""
            print(f"| {targets[i] if targets else i + 1:g} | {r['bpp'][i]:.3f} | {r['psnr-rgb'][i]:.2f} | {r['ms-ssim-rgb'][i]:.4f} |{dist} "
                  f"{r['encoding_time'][i]:.2f} | {r['decoding_time'][i]:.2f} |")
    if "dcodec_lossless_bpp" in d:
        print()
        print(f"dcodec lossless (the whole file): {d['dcodec_lossless_bpp']:.3f} bpp")


if __name__ == "__main__":
    main()
