// Test-only: small but valid metadata payloads (an ICC profile libpng accepts, EXIF with an orientation), so that
// tests make their own inputs.
#ifndef DCODEC_DATASETS_METADATA_FOR_TEST_H_
#define DCODEC_DATASETS_METADATA_FOR_TEST_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "datasets/metadata.h"

namespace dcodec {

// A 600-byte ICC v2 display profile with no tags: the header libpng checks (size, 'acsp', the colour space
// "RGB " or "GRAY", PCS XYZ, the D50 illuminant), `salt` in its creator field so that tests can tell profiles apart,
// then pseudo-random bytes (libpng 1.6.39 cannot read back an iCCP chunk shorter than 81 bytes).
inline std::vector<uint8_t> MakeIccProfileForTest(const char* colour_space = "RGB ", uint32_t salt = 0) {
  std::vector<uint8_t> p(600, 0);
  uint32_t x = 12345 + salt;
  for (size_t i = 132; i < p.size(); ++i) {
    x = x * 1103515245u + 12345u;
    p[i] = static_cast<uint8_t>(x >> 24);
  }
  auto be32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
  };
  be32(0, 600);
  be32(8, 0x02100000);  // version 2.1
  std::memcpy(&p[12], "mntr", 4);
  std::memcpy(&p[16], colour_space, 4);
  std::memcpy(&p[20], "XYZ ", 4);
  std::memcpy(&p[36], "acsp", 4);
  be32(68, 0x0000F6D6);  // D50: X, Y, Z in s15Fixed16
  be32(72, 0x00010000);
  be32(76, 0x0000D32D);
  be32(80, salt);        // profile creator
  be32(128, 0);          // no tags
  return p;
}

// EXIF (TIFF) with IFD0 holding the orientation (tag 0x0112) and one more tag, in either byte order.
inline std::vector<uint8_t> MakeExifForTest(int orientation, bool big_endian = false) {
  std::vector<uint8_t> t;
  auto u16 = [&](uint32_t v) {
    if (big_endian) {
      t.push_back(static_cast<uint8_t>(v >> 8));
      t.push_back(static_cast<uint8_t>(v));
    } else {
      t.push_back(static_cast<uint8_t>(v));
      t.push_back(static_cast<uint8_t>(v >> 8));
    }
  };
  auto u32 = [&](uint32_t v) {
    if (big_endian) {
      u16(v >> 16);
      u16(v & 0xffff);
    } else {
      u16(v & 0xffff);
      u16(v >> 16);
    }
  };
  t.push_back(big_endian ? 'M' : 'I');
  t.push_back(big_endian ? 'M' : 'I');
  u16(42);
  u32(8);  // IFD0
  u16(2);  // entries
  u16(0x010F);  // Make: ASCII, 4 bytes inline
  u16(2);
  u32(4);
  t.insert(t.end(), {'d', 'c', 'd', 0});
  u16(0x0112);  // Orientation: SHORT, 1
  u16(3);
  u32(1);
  u16(static_cast<uint32_t>(orientation));
  u16(0);
  u32(0);  // no next IFD
  return t;
}

// One item of every kind.
inline Metadata MakeMetadataForTest(bool grey = false) {
  Metadata m;
  m.items.push_back({MetadataKind::kIcc, "Test profile", MakeIccProfileForTest(grey ? "GRAY" : "RGB ", 7)});
  m.items.push_back({MetadataKind::kGama, "", {0x00, 0x00, 0xB1, 0x8F}});
  m.items.push_back({MetadataKind::kChrm, "", std::vector<uint8_t>(32, 0x11)});
  m.items.push_back({MetadataKind::kCicp, "", {1, 13, 0, 1}});
  m.items.push_back({MetadataKind::kExif, "", MakeExifForTest(6)});
  m.items.push_back({MetadataKind::kXmp, "", {'<', 'x', ':', 'x', 'm', 'p', 'm', 'e', 't', 'a', '/', '>'}});
  const std::string caf = "caf\xC3\xA9 au lait";  // UTF-8: becomes iTXt
  m.items.push_back({MetadataKind::kText, "Title", std::vector<uint8_t>(caf.begin(), caf.end())});
  const std::string plain(1500, 'a');  // long ASCII: zTXt
  m.items.push_back({MetadataKind::kText, "Comment", std::vector<uint8_t>(plain.begin(), plain.end())});
  return m;
}

}  // namespace dcodec

#endif  // DCODEC_DATASETS_METADATA_FOR_TEST_H_
