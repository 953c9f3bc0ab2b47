#!/usr/bin/python3
"""Flips single bits of a .dcd stream and counts how the decoder answers: an error (and which), or a picture
(a flip that went unreported). Also cuts the stream at byte positions and checks that each cut decodes as a
prefix. Uses the Python module (build/python on PYTHONPATH).

  scripts/flip_audit.py --model models/cifar10.safetensors --cifar ../shared/datasets/cifar10 --index 0
  scripts/flip_audit.py --stream wiki_001.dcd --bits 200 --seed 1      # a random sample of the bits

--cifar encodes the index-th held-out CIFAR image (the end of data_batch_5.bin) at --quality (default 75, as the
command line's default) with the module; --stream takes an existing stream. Prints one line per answer kind.
"""
import argparse
import collections
import random
import sys
import time

import numpy as np

import dcodec

CIFAR_HOLDOUT = 500  # datasets/cifar10.h, kCifarHoldoutImages


def cifar_image(folder, index):
    data = np.fromfile(f"{folder}/data_batch_5.bin", dtype=np.uint8).reshape(-1, 3073)
    record = data[len(data) - CIFAR_HOLDOUT + index]
    return np.ascontiguousarray(record[1:].reshape(3, 32, 32).transpose(1, 2, 0))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None)
    p.add_argument("--cifar", help="CIFAR-10 folder: encode a held-out image")
    p.add_argument("--index", type=int, default=0)
    p.add_argument("--quality", type=int, default=75)
    p.add_argument("--lossless", action="store_true")
    p.add_argument("--stream", help="an existing .dcd file")
    p.add_argument("--bits", type=int, default=0, help="flip this many random bits (0: every bit)")
    p.add_argument("--cuts", type=int, default=0, help="cut at this many random lengths (0: every length)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    model = dcodec.Model(a.model) if a.model else None
    decode = model.decode if model else dcodec.decode
    if a.cifar:
        image = cifar_image(a.cifar, a.index)
        encode = model.encode if model else dcodec.encode
        stream = encode(image, quality=a.quality, lossless=a.lossless, threads=a.threads)
        what = f"CIFAR held-out image {a.index}, " + ("lossless" if a.lossless else f"quality {a.quality}")
    elif a.stream:
        stream = open(a.stream, "rb").read()
        what = a.stream
    else:
        sys.exit("give --cifar or --stream")
    whole = decode(stream, threads=a.threads)
    rng = random.Random(a.seed)
    bits = list(range(8 * len(stream)))
    if a.bits:
        bits = sorted(rng.sample(bits, min(a.bits, len(bits))))
    answers = collections.Counter()
    unreported = []
    examples = {}  # a refusal's message -> the first bit that gave it
    start = time.time()
    for bit in bits:
        flipped = bytearray(stream)
        flipped[bit // 8] ^= 1 << (bit % 8)
        try:
            picture = decode(bytes(flipped), threads=a.threads)
        except dcodec.CorruptStreamError:
            answers["damaged (CorruptStreamError)"] += 1
            continue
        except ValueError as e:
            answers["refused (ValueError: a header it cannot hold, another model or version, ...)"] += 1
            examples.setdefault(str(e)[:50], bit)
            continue
        same = picture.shape == whole.shape and np.array_equal(picture, whole)
        answers["UNREPORTED, " + ("same picture" if same else "another picture")] += 1
        unreported.append(bit)
    seconds = time.time() - start
    print(f"{what}: {len(stream)} bytes; {len(bits)} of {8 * len(stream)} single-bit flips "
          f"({seconds:.0f} s)")
    for kind, count in sorted(answers.items()):
        print(f"  {count:7d}  {kind}")
    for message, bit in list(examples.items())[:8]:
        print(f"           e.g. bit {bit}: {message}")
    if unreported:
        print("  unreported bits:", unreported[:20])
    cuts = list(range(1, len(stream)))
    if a.cuts:
        cuts = sorted(rng.sample(cuts, min(a.cuts, len(cuts))))
    prefix_errors = collections.Counter()
    for n in cuts:
        try:
            decode(stream[:n], threads=a.threads)
            prefix_errors["decoded as a prefix"] += 1
        except ValueError as e:
            prefix_errors["error: " + str(e)[:60]] += 1
    print(f"  {len(cuts)} cuts:", dict(prefix_errors))
    return 1 if unreported else 0


if __name__ == "__main__":
    sys.exit(main())
