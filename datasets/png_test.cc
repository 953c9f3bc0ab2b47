#include "datasets/png.h"

#include <gtest/gtest.h>
#include <png.h>
#include <zlib.h>

#include <random>

namespace dcodec {
namespace {

// Writes a PNG of any libpng layout, pixel values from f(x, y, channel) at the given bit depth.
std::vector<uint8_t> MakePng(int w, int h, int color_type, int bit_depth, bool interlace,
                             const std::function<int(int, int, int)>& f, bool with_trns = false) {
  std::vector<uint8_t> out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_set_write_fn(
      png, &out,
      [](png_structp p, png_bytep d, png_size_t n) {
        auto* v = static_cast<std::vector<uint8_t>*>(png_get_io_ptr(p));
        v->insert(v->end(), d, d + n);
      },
      nullptr);
  png_set_IHDR(png, info, w, h, bit_depth, color_type, interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  int channels = color_type == PNG_COLOR_TYPE_RGB ? 3 : color_type == PNG_COLOR_TYPE_RGB_ALPHA ? 4
                 : color_type == PNG_COLOR_TYPE_GRAY_ALPHA                                      ? 2
                                                                                                : 1;
  if (color_type == PNG_COLOR_TYPE_PALETTE) {
    png_color palette[4] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {10, 20, 30}};
    png_set_PLTE(png, info, palette, 4);
  }
  if (with_trns) {
    png_color_16 trans{};
    png_set_tRNS(png, info, nullptr, 0, &trans);
  }
  png_write_info(png, info);
  int bytes_per_sample = bit_depth == 16 ? 2 : 1;
  std::vector<std::vector<uint8_t>> rows(h, std::vector<uint8_t>(w * channels * bytes_per_sample));
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < channels; ++c) {
        int v = f(x, y, c);
        if (bit_depth == 16) {
          rows[y][(x * channels + c) * 2] = v >> 8;
          rows[y][(x * channels + c) * 2 + 1] = v & 255;
        } else {
          rows[y][x * channels + c] = v;
        }
      }
    }
  }
  std::vector<png_bytep> ptrs;
  for (auto& r : rows) ptrs.push_back(r.data());
  png_write_image(png, ptrs.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return out;
}

TEST(PngTest, RgbRoundtripOddSizes) {
  std::mt19937 rng(1);
  for (auto [w, h] : {std::pair{1, 1}, {17, 3}, {5, 31}}) {
    Image image(w, h, 3);
    for (auto& v : image.data) v = rng();
    auto bytes = EncodePng(image);
    ASSERT_TRUE(bytes.ok());
    auto back = DecodePng(bytes->data(), bytes->size(), "mem");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, image);
  }
}

TEST(PngTest, GreyAndSixteenBitAndPaletteAndInterlaced) {
  auto grey = MakePng(7, 5, PNG_COLOR_TYPE_GRAY, 8, false, [](int x, int y, int) { return x * 30 + y; });
  auto g = DecodePng(grey.data(), grey.size(), "grey.png");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->channels, 1);
  EXPECT_EQ(g->at(3, 2, 0), 92);

  // 16-bit samples with information in the low byte: refused (8 bits would not be lossless) unless asked for.
  auto deep = MakePng(4, 4, PNG_COLOR_TYPE_RGB, 16, false, [](int x, int, int c) { return (x * 64 + c) * 256 + 7; });
  auto refused = DecodePng(deep.data(), deep.size(), "deep.png");
  EXPECT_EQ(refused.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(refused.status().message().find("deep.png: 16-bit"), std::string::npos) << refused.status().ToString();
  auto d = DecodePng(deep.data(), deep.size(), "deep.png", PngReadOptions{/*reduce_16_to_8=*/true});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->channels, 3);
  EXPECT_EQ(d->at(2, 1, 1), 129);  // the high byte
  // 8-bit values stored wide (v * 257) lose nothing: accepted as they are.
  auto wide = MakePng(4, 4, PNG_COLOR_TYPE_GRAY, 16, false, [](int x, int y, int) { return (x * 60 + y) * 257; });
  auto w = DecodePng(wide.data(), wide.size(), "wide.png");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->at(3, 2, 0), 182);

  auto pal = MakePng(3, 2, PNG_COLOR_TYPE_PALETTE, 8, false, [](int x, int, int) { return x; });
  auto p = DecodePng(pal.data(), pal.size(), "pal.png");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->channels, 3);
  EXPECT_EQ(p->at(1, 0, 0), 255);
  EXPECT_EQ(p->at(2, 1, 1), 255);

  auto inter = MakePng(9, 9, PNG_COLOR_TYPE_RGB, 8, true, [](int x, int y, int c) { return x * 20 + y + c; });
  auto i = DecodePng(inter.data(), inter.size(), "inter.png");
  ASSERT_TRUE(i.ok());
  EXPECT_EQ(i->at(8, 7, 2), 169);
}

// With keep_alpha, transparency becomes an alpha channel (last): RGBA, grey + alpha, and tRNS colour keys; the
// writer writes them back.
TEST(PngTest, KeepsAlphaWhenAskedAndWritesIt) {
  PngReadOptions keep;
  keep.keep_alpha = true;
  auto rgba = MakePng(3, 2, PNG_COLOR_TYPE_RGB_ALPHA, 8, false, [](int x, int y, int c) { return x * 40 + y * 7 + c; });
  auto a = DecodePng(rgba.data(), rgba.size(), "rgba.png", keep);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->channels, 4);
  EXPECT_EQ(a->at(2, 1, 3), 2 * 40 + 7 + 3);
  auto ga = MakePng(3, 2, PNG_COLOR_TYPE_GRAY_ALPHA, 8, false, [](int x, int y, int c) { return x + 10 * c + y; });
  auto g = DecodePng(ga.data(), ga.size(), "ga.png", keep);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->channels, 2);
  EXPECT_EQ(g->at(1, 1, 1), 1 + 10 + 1);
  // A grey colour key (tRNS grey 0 in MakePng): pixels of value 0 become transparent.
  auto key = MakePng(2, 2, PNG_COLOR_TYPE_GRAY, 8, false, [](int x, int, int) { return x ? 0 : 50; }, true);
  auto k = DecodePng(key.data(), key.size(), "key.png", keep);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(k->channels, 2);
  EXPECT_EQ(k->at(0, 0, 1), 255);
  EXPECT_EQ(k->at(1, 0, 1), 0);
  for (const Image& image : {*a, *g}) {
    auto bytes = EncodePng(image);
    ASSERT_TRUE(bytes.ok());
    auto back = DecodePng(bytes->data(), bytes->size(), "back.png", keep);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, image);
  }
}

TEST(PngTest, RefusesAlphaGarbageEmptyAndTruncated) {
  auto rgba = MakePng(2, 2, PNG_COLOR_TYPE_RGB_ALPHA, 8, false, [](int, int, int) { return 9; });
  auto a = DecodePng(rgba.data(), rgba.size(), "rgba.png");
  EXPECT_EQ(a.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(a.status().message().find("rgba.png"), std::string::npos);
  EXPECT_NE(a.status().message().find("alpha"), std::string::npos);

  auto trns = MakePng(2, 2, PNG_COLOR_TYPE_GRAY, 8, false, [](int, int, int) { return 9; }, true);
  EXPECT_EQ(DecodePng(trns.data(), trns.size(), "t.png").status().code(), StatusCode::kUnsupported);

  EXPECT_EQ(DecodePng(nullptr, 0, "e.png").status().message(), "e.png: empty file");
  std::vector<uint8_t> text = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'};
  EXPECT_EQ(DecodePng(text.data(), text.size(), "x.png").status().message(), "x.png: not a PNG file");

  auto good = MakePng(8, 8, PNG_COLOR_TYPE_RGB, 8, false, [](int x, int y, int c) { return x ^ y ^ c; });
  for (size_t cut = 8; cut < good.size(); cut += 3) {
    auto r = DecodePng(good.data(), cut, "cut.png");
    EXPECT_FALSE(r.ok()) << cut;
  }
}

TEST(PngTest, HugeHeaderRefusedBeforeAllocating) {
  auto small = MakePng(1, 1, PNG_COLOR_TYPE_RGB, 8, false, [](int, int, int) { return 0; });
  // Patch IHDR to claim 100000 x 100000 and fix its CRC.
  auto put32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) small[at + i] = (v >> (24 - 8 * i)) & 255;
  };
  put32(16, 100000);
  put32(20, 100000);
  put32(29, crc32(crc32(0, nullptr, 0), small.data() + 12, 17));
  auto r = DecodePng(small.data(), small.size(), "huge.png");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("huge.png"), std::string::npos);
}

// Regression (found with fuzz/fuzz_png): a 69-byte file whose header claims 8192 x 8192 (within kMaxPixels) made
// DecodePng allocate the 192 MiB image before libpng found the data missing. deflate cannot expand more than
// 1032:1, so such a file is refused from its size alone; a file of maximal compressibility still decodes.
TEST(PngTest, HeaderLargerThanTheDataCanHoldRefusedBeforeAllocating) {
  auto small = MakePng(1, 1, PNG_COLOR_TYPE_RGB, 8, false, [](int, int, int) { return 0; });
  auto put32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) small[at + i] = (v >> (24 - 8 * i)) & 255;
  };
  put32(16, 8192);
  put32(20, 8192);
  put32(29, crc32(crc32(0, nullptr, 0), small.data() + 12, 17));
  auto r = DecodePng(small.data(), small.size(), "lying.png");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(r.status().message().find("cannot hold"), std::string::npos) << r.status().ToString();

  auto flat = MakePng(2000, 2000, PNG_COLOR_TYPE_GRAY, 8, false, [](int, int, int) { return 7; });
  ASSERT_LT(flat.size() * 200, size_t{2000} * 2000);  // compresses far beyond 200:1
  auto decoded = DecodePng(flat.data(), flat.size(), "flat.png");
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->width, 2000);
}

TEST(PngTest, ToRgbReplicatesGrey) {
  Image g(2, 1, 1);
  g.data = {5, 200};
  Image rgb = ToRgb(g);
  EXPECT_EQ(rgb.data, (std::vector<uint8_t>{5, 5, 5, 200, 200, 200}));
}

}  // namespace
}  // namespace dcodec
