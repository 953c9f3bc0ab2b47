#!/usr/bin/env python3
"""Writes the PNG fixtures of tests/golden/png/ (used by cli_test and golden_test, and as fuzz seeds).

    python3 tests/golden/make_pngs.py tests/golden/png

A hand-rolled PNG writer (zlib + struct, no PIL) so that the files cover what libpng-based tools rarely emit on
purpose: 1/2/4/16-bit samples, palettes, Adam7 interlacing, alpha, tRNS, and IHDRs that lie about the size.
Deterministic: the same bytes on every run.
"""
import zlib, struct, random, sys, os
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
def png(w, h, ctype, depth, rows_fn, interlace=0, plte=None, trns=None, ihdr_override=None, raw16=False):
    out = b'\x89PNG\r\n\x1a\n'
    out += chunk(b'IHDR', ihdr_override or struct.pack('>IIBBBBB', w, h, depth, ctype, 0, 0, interlace))
    if plte: out += chunk(b'PLTE', plte)
    if trns: out += chunk(b'tRNS', trns)
    ch = {0:1, 2:3, 3:1, 4:2, 6:4}[ctype]
    def rowbytes(x0, dx, y, n):
        vals = [rows_fn(x0 + i*dx, y, c) for i in range(n) for c in range(ch)]
        if depth == 16: return b''.join(struct.pack('>H', v if raw16 else v * 257) for v in vals)
        if depth == 8: return bytes(vals)
        bits = ''.join(format(v & ((1<<depth)-1), '0%db' % depth) for v in vals)
        bits += '0' * (-len(bits) % 8)
        return bytes(int(bits[i:i+8], 2) for i in range(0, len(bits), 8))
    raw = b''
    if interlace == 0:
        for y in range(h): raw += b'\0' + rowbytes(0, 1, y, w)
    else:
        for (x0, y0, dx, dy) in [(0,0,8,8),(4,0,8,8),(0,4,4,8),(2,0,4,4),(0,2,2,4),(1,0,2,2),(0,1,1,2)]:
            n = (w - x0 + dx - 1) // dx if w > x0 else 0
            if n == 0: continue
            for y in range(y0, h, dy): raw += b'\0' + rowbytes(x0, dx, y, n)
    out += chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b'')
    return out
if __name__ == '__main__':
    d = sys.argv[1]; os.makedirs(d, exist_ok=True)
    R = random.Random(1)
    def smooth(x, y, c): return (x * 13 + y * 7 + c * 50 + R.randrange(8)) & 255
    files = {
      'rgb16x16.png': png(16, 16, 2, 8, smooth),
      'grey9x7.png': png(9, 7, 0, 8, smooth),
      'rgb16bit5x3.png': png(5, 3, 2, 16, smooth),
      'grey4bit7x5.png': png(7, 5, 0, 4, lambda x,y,c: (x+y) & 15),
      'grey1bit9x2.png': png(9, 2, 0, 1, lambda x,y,c: (x^y) & 1),
      'palette6x4.png': png(6, 4, 3, 8, lambda x,y,c: (x+y) % 3, plte=bytes([255,0,0, 0,255,0, 0,0,255])),
      'palette2bit5x5.png': png(5, 5, 3, 2, lambda x,y,c: (x+y) % 4, plte=bytes(range(12))),
      'interlaced11x10.png': png(11, 10, 2, 8, smooth, interlace=1),
      'interlacedgrey3x3.png': png(3, 3, 0, 8, smooth, interlace=1),
      'one1x1.png': png(1, 1, 2, 8, smooth),
      'rgba3x3.png': png(3, 3, 6, 8, smooth),
      'greyalpha3x3.png': png(3, 3, 4, 8, smooth),
      'palette_trns4x4.png': png(4, 4, 3, 8, lambda x,y,c: x % 2, plte=bytes(6), trns=b'\x00'),
      'multitile48x40.png': png(48, 40, 2, 8, smooth),
      'huge_header.png': png(1, 1, 2, 8, smooth, ihdr_override=struct.pack('>IIBBBBB', 100000, 100000, 8, 2, 0, 0, 0)),
      'big_header_8192.png': png(1, 1, 2, 8, smooth, ihdr_override=struct.pack('>IIBBBBB', 8192, 8192, 8, 2, 0, 0, 0)),
      # 16-bit samples whose low bytes carry information (8 bits would not be lossless)
      'rgb16bitlow5x3.png': png(5, 3, 2, 16, lambda x,y,c: ((x * 13 + y * 7 + c * 50) & 255) * 256 + (x * 37 + y * 11 + c) % 256,
                                raw16=True),
    }
    for name, data in files.items(): open(os.path.join(d, name), 'wb').write(data)
