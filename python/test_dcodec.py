"""The Python module end to end with Debian's python3 and numpy: lossless roundtrip (RGB, grey, RGBA), quality
encodes that shrink, prefixes by max_bytes, metadata, errors as exceptions."""
import os
import sys
import unittest

import numpy as np

import dcodec

MODEL = os.path.join(os.environ.get("DCODEC_SOURCE_DIR", "."), "models", "cifar10.safetensors")


def smooth(h, w, c, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    planes = [128 + 80 * np.sin(0.2 * x * (k + 1)) * np.cos(0.15 * y) + rng.integers(-8, 9, (h, w)) for k in range(c)]
    return np.clip(np.stack(planes, -1), 0, 255).astype(np.uint8)


class DcodecTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = dcodec.Model(MODEL)

    def test_lossless_roundtrip_every_layout(self):
        for image in (smooth(24, 32, 3, 1), smooth(20, 16, 1, 2)[:, :, 0], smooth(16, 16, 4, 3)):
            data = self.model.encode(image, lossless=True)
            self.assertIsInstance(data, bytes)
            back = self.model.decode(data)
            self.assertEqual(back.dtype, np.uint8)
            np.testing.assert_array_equal(back, image)

    def test_sixteen_bit_samples_come_back_whole(self):
        rng = np.random.default_rng(5)
        wide = (smooth(12, 10, 3, 6).astype(np.uint16) * 256 + rng.integers(0, 256, (12, 10, 3))).astype(np.uint16)
        data = self.model.encode(wide, lossless=True)
        back = self.model.decode(data)
        self.assertEqual(back.dtype, np.uint16)
        np.testing.assert_array_equal(back, wide)
        # A prefix is an 8-bit preview; the high bytes alone cost less than all 16 bits.
        preview = self.model.decode(data, max_stages=1)
        self.assertEqual(preview.dtype, np.uint8)
        self.assertLess(len(self.model.encode((wide >> 8).astype(np.uint8), lossless=True)), len(data))

    def test_quality_shrinks_and_prefixes_decode(self):
        image = smooth(32, 32, 3, 4)
        whole = self.model.encode(image, quality=100)
        low = self.model.encode(image, quality=40)
        self.assertLess(len(low), len(whole))
        err = np.abs(self.model.decode(low).astype(int) - image.astype(int))
        self.assertGreater(err.max(), 0)
        prefix = self.model.decode(whole, max_bytes=len(whole) // 3)
        self.assertEqual(prefix.shape, image.shape)
        self.assertFalse(np.array_equal(prefix, image))
        exact = self.model.encode(image, bpp=2.0)
        self.assertLessEqual(len(exact) * 8 / 1024, 2.0)

    def test_metadata_comes_back(self):
        image = smooth(8, 16, 3, 7)
        profile = np.random.default_rng(1).integers(0, 256, 512, dtype=np.uint8).tobytes()  # incompressible
        items = [("icc", "test profile", profile), ("exif", "", b"II*\x00\x08\x00\x00\x00\x00\x00"),
                 ("text", "Comment", "grüße".encode())]
        data = self.model.encode(image, lossless=True, metadata=items)
        bare = self.model.encode(image, lossless=True)
        self.assertGreater(len(data), len(bare) + 256)
        back, metadata = self.model.decode(data, with_metadata=True)
        np.testing.assert_array_equal(back, image)
        self.assertEqual(metadata, items)
        _, none = self.model.decode(bare, with_metadata=True)
        self.assertEqual(none, [])
        with self.assertRaises(ValueError):
            self.model.encode(image, metadata=[("colour", "", b"")])
        with self.assertRaises(ValueError):
            self.model.encode(image, metadata=[("icc", "")])

    def test_errors_are_exceptions(self):
        with self.assertRaises(ValueError):
            self.model.decode(b"not a stream")
        with self.assertRaises(ValueError):
            self.model.encode(np.zeros((4, 4, 5), np.uint8))
        with self.assertRaises(ValueError):
            self.model.encode(np.zeros((4, 4, 3), np.uint8), quality=101)

    def test_device_is_checked(self):
        on_cpu = dcodec.Model(MODEL, device="cpu")
        image = smooth(8, 8, 3, 2)
        self.assertEqual(on_cpu.encode(image, lossless=True), self.model.encode(image, lossless=True))
        with self.assertRaises(ValueError):
            dcodec.Model(MODEL, device="gpu")

    def test_module_functions_use_the_default_model(self):
        os.environ.setdefault("DCODEC_MODEL", MODEL)
        image = smooth(16, 16, 3, 5)
        np.testing.assert_array_equal(dcodec.decode(dcodec.encode(image, lossless=True)), image)
        self.assertEqual(dcodec.FORMAT_VERSION, 13)

    def test_damage_is_an_error_and_a_cut_is_a_prefix(self):
        image = smooth(16, 16, 3, 6)
        whole = self.model.encode(image, lossless=True)
        cut = self.model.decode(whole[:-1])  # cut short: the complete stages, no error
        self.assertFalse(np.array_equal(cut, image))
        damaged = bytearray(whole)
        damaged[-5] ^= 0x08
        with self.assertRaises(dcodec.CorruptStreamError) as raised:
            self.model.decode(bytes(damaged))
        self.assertIsInstance(raised.exception, ValueError)
        self.assertIn("stage", str(raised.exception))
        with self.assertWarns(dcodec.DamagedStreamWarning):
            salvaged = self.model.decode(bytes(damaged), salvage=True)
        self.assertEqual(salvaged.shape, image.shape)


if __name__ == "__main__":
    sys.exit(unittest.main())
