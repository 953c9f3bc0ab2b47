// Golden files (tests/golden/): committed streams that must decode to fixed pixels with the committed tiny model,
// and broken streams that must be refused with a specific StatusCode and a message naming the problem.
//
// Regenerate (only for an intended format or model change; see tests/golden/README.md):
//   build/tests/golden_test --gtest_also_run_disabled_tests --gtest_filter='*RegenerateGoldenFiles'
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "base/file_io.h"
#include "bitstream/checksum.h"
#include "bitstream/container.h"
#include "codec/codec.h"
#include "datasets/metadata_for_test.h"
#include "datasets/png.h"
#include "tests/test_models.h"

#ifndef DCODEC_GOLDEN_DIR
#error "DCODEC_GOLDEN_DIR must name tests/golden"
#endif

namespace dcodec::codec {
namespace {

const std::string kDir = DCODEC_GOLDEN_DIR;

std::vector<uint8_t> ReadGolden(const std::string& name) {
  auto bytes = ReadFileBytes(kDir + "/" + name);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return bytes.ok() ? *bytes : std::vector<uint8_t>{};
}

uint64_t PixelHash(const Image& image) { return bitstream::Xxh64(image.data); }

// The options every golden stream is encoded with (the generator and the encoder-determinism test share them).
EncodeOptions GoldenOptions() {
  EncodeOptions o;
  o.chain = {2, 300, 10};
  o.gaussian.stages = 1;  // one Gaussian stage (t = 300), one dithered (t = 10), the pixels
  o.tiles = {16, 4, 1};
  o.seed = 7;
  return o;
}

// v8_cut_rgb16x16.dcd: format 8, the golden chain cut at t = 100 ({300, 100}), lossy as rate control writes it.
EncodeOptions GoldenCutOptions() {
  EncodeOptions o = GoldenOptions();
  o.chain.t_end = 100;
  o.pixel_stage = false;
  o.pixels_only_if_half = false;
  return o;
}

// v10_kept_rgb16x16.dcd: format 10, the golden chain cut at t = 200 with both stages Gaussian, keeping 300
// ({300, 200}; the old rule drops 300: {200}).
EncodeOptions GoldenKeptCutOptions() {
  EncodeOptions o = GoldenCutOptions();
  o.chain.t_end = 200;
  o.chain.keep_above_cut = true;
  o.gaussian.stages = 2;
  return o;
}

// v9_first_rgb16x16.dcd: format 9, the golden chain whose first (Gaussian) stage has its own candidates and budget.
EncodeOptions GoldenFirstStageOptions() {
  EncodeOptions o = GoldenOptions();
  o.gaussian.first_index_bits = 12;
  o.gaussian.first_block_quarters = 20;
  return o;
}

// v12_map_rgb72x66.dcd: format 12, the golden chain with region maps (2^10 candidates a block of 8 bits, the
// large-image setting) on a picture of nine regions: the rgb16x16 golden picture scaled up to 72×66 (nearest
// neighbour) plus a ramp, so that the regions differ.
EncodeOptions GoldenMapOptions() {
  EncodeOptions o = GoldenOptions();
  o.gaussian.region_map = 1;
  o.gaussian.index_bits = 10;
  o.gaussian.block_quarters = 32;
  return o;
}

Image GoldenMapImage() {
  auto png = ReadPng(kDir + "/png/rgb16x16.png");
  EXPECT_TRUE(png.ok()) << png.status().ToString();
  Image image(72, 66, 3);
  if (!png.ok()) return image;
  for (int y = 0; y < 66; ++y)
    for (int x = 0; x < 72; ++x)
      for (int c = 0; c < 3; ++c)
        image.at(x, y, c) = static_cast<uint8_t>((png->at(x * 16 / 72, y * 16 / 66, c) + 2 * x + y) % 256);
  return image;
}

// What meta_rgb16x16.dcd carries: a colour profile, EXIF with orientation 6, and a text item.
Metadata GoldenMetadata() {
  Metadata m;
  m.items.push_back({MetadataKind::kIcc, "golden", MakeIccProfileForTest("RGB ", 7)});
  m.items.push_back({MetadataKind::kExif, "", MakeExifForTest(6)});
  const std::string text = "a golden stream";
  m.items.push_back({MetadataKind::kText, "Title", std::vector<uint8_t>(text.begin(), text.end())});
  return m;
}

// The 16-bit fixture whose low bytes matter, read whole (rgb16bitlow5x3.dcd codes it).
Image GoldenSixteenBitImage() {
  ImageReadOptions options;
  options.keep_16_bit = true;
  auto png = ReadPng(kDir + "/png/rgb16bitlow5x3.png", options);
  EXPECT_TRUE(png.ok()) << png.status().ToString();
  return png.ok() ? *png : Image();
}

Image GoldenImageWithMetadata() {
  auto png = ReadPng(kDir + "/png/rgb16x16.png");
  EXPECT_TRUE(png.ok()) << png.status().ToString();
  Image image = png.ok() ? *png : Image();
  image.metadata = GoldenMetadata();
  return image;
}

// streams.txt: one valid stream per line: file width height channels stages_decoded exact pixels_xxh64 (hex).
struct ValidStream {
  std::string file;
  int width, height, channels, stages_decoded, exact;
  uint64_t pixels_xxh64;
};

std::vector<ValidStream> ReadManifest() {
  std::vector<ValidStream> out;
  std::ifstream in(kDir + "/streams.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    ValidStream v;
    std::string hash;
    fields >> v.file >> v.width >> v.height >> v.channels >> v.stages_decoded >> v.exact >> hash;
    EXPECT_FALSE(fields.fail()) << "bad line in streams.txt: " << line;
    v.pixels_xxh64 = std::stoull(hash, nullptr, 16);
    out.push_back(v);
  }
  return out;
}

class GoldenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto codec = Codec::Load(kDir + "/model.safetensors");
    ASSERT_TRUE(codec.ok()) << codec.status().ToString();
    codec_ = std::move(codec).value().release();
  }
  static void TearDownTestSuite() {
    delete codec_;
    codec_ = nullptr;
  }
  static Codec* codec_;
};
Codec* GoldenTest::codec_ = nullptr;

TEST_F(GoldenTest, ValidStreamsDecodeToFixedPixels) {
  auto manifest = ReadManifest();
  ASSERT_GE(manifest.size(), 4u);
  for (const ValidStream& v : manifest) {
    SCOPED_TRACE(v.file);
    std::vector<uint8_t> stream = ReadGolden(v.file);
    auto dec = codec_->Decode(stream.data(), stream.size(), {});
    ASSERT_TRUE(dec.ok()) << dec.status().ToString();
    EXPECT_EQ(dec->image.width, v.width);
    EXPECT_EQ(dec->image.height, v.height);
    EXPECT_EQ(dec->image.channels, v.channels);
    EXPECT_EQ(dec->stages_decoded, v.stages_decoded);
    EXPECT_EQ(dec->exact, v.exact != 0);
    char hex[17];
    std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(PixelHash(dec->image)));
    EXPECT_EQ(PixelHash(dec->image), v.pixels_xxh64) << "decoded pixels hash to " << hex;
  }
}

TEST_F(GoldenTest, LosslessStreamsReproduceTheirPng) {
  for (const char* name : {"rgb16x16", "grey9x7"}) {
    SCOPED_TRACE(name);
    auto png = ReadPng(kDir + "/png/" + name + ".png");
    ASSERT_TRUE(png.ok()) << png.status().ToString();
    std::vector<uint8_t> stream = ReadGolden(std::string(name) + ".dcd");
    auto dec = codec_->Decode(stream.data(), stream.size(), {});
    ASSERT_TRUE(dec.ok()) << dec.status().ToString();
    EXPECT_TRUE(dec->exact);
    EXPECT_EQ(dec->image, *png);
  }
  // 16-bit samples: the whole stream gives back the low bytes too.
  std::vector<uint8_t> stream = ReadGolden("rgb16bitlow5x3.dcd");
  auto dec = codec_->Decode(stream.data(), stream.size(), {});
  ASSERT_TRUE(dec.ok()) << dec.status().ToString();
  EXPECT_TRUE(dec->exact);
  EXPECT_EQ(dec->sample_bits, 16);
  EXPECT_TRUE(dec->image.sixteen_bit());
  EXPECT_EQ(dec->image, GoldenSixteenBitImage());
}

// Format 6's metadata: the whole stream gives it back with the PNG's pixels; the prefix of stage 1 alone has none.
TEST_F(GoldenTest, MetadataStreamGivesBackItsMetadata) {
  std::vector<uint8_t> stream = ReadGolden("meta_rgb16x16.dcd");
  auto dec = codec_->Decode(stream.data(), stream.size(), {});
  ASSERT_TRUE(dec.ok()) << dec.status().ToString();
  EXPECT_TRUE(dec->exact);
  EXPECT_TRUE(dec->metadata_read);
  EXPECT_EQ(dec->image, GoldenImageWithMetadata());
  std::vector<uint8_t> first = ReadGolden("meta_rgb16x16_stage1.dcd");
  auto prefix = codec_->Decode(first.data(), first.size(), {});
  ASSERT_TRUE(prefix.ok()) << prefix.status().ToString();
  EXPECT_EQ(prefix->stages_decoded, 1);
  EXPECT_FALSE(prefix->metadata_read);
  EXPECT_TRUE(prefix->image.metadata.empty());
  // Format 6 streams (no sample depth) give it back too; format 5 streams have no section: nothing read.
  std::vector<uint8_t> v6 = ReadGolden("v6_meta_rgb16x16.dcd");
  auto six = codec_->Decode(v6.data(), v6.size(), {});
  ASSERT_TRUE(six.ok()) << six.status().ToString();
  EXPECT_TRUE(six->exact);
  EXPECT_EQ(six->sample_bits, 8);
  EXPECT_EQ(six->image, GoldenImageWithMetadata());
  std::vector<uint8_t> v5 = ReadGolden("v5_rgb16x16.dcd");
  auto old = codec_->Decode(v5.data(), v5.size(), {});
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_FALSE(old->metadata_read);
  EXPECT_TRUE(old->exact);
}

// The encoder still writes the committed bytes: a change here is a format (or model-evaluation) change.
TEST_F(GoldenTest, EncoderReproducesGoldenStreams) {
  for (const char* name : {"rgb16x16", "grey9x7"}) {
    SCOPED_TRACE(name);
    auto png = ReadPng(kDir + "/png/" + name + ".png");
    ASSERT_TRUE(png.ok()) << png.status().ToString();
    auto enc = codec_->Encode(*png, GoldenOptions());
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    EXPECT_EQ(enc->stream, ReadGolden(std::string(name) + ".dcd"));
  }
  auto enc = codec_->Encode(GoldenImageWithMetadata(), GoldenOptions());
  ASSERT_TRUE(enc.ok()) << enc.status().ToString();
  EXPECT_EQ(enc->stream, ReadGolden("meta_rgb16x16.dcd"));
  auto wide = codec_->Encode(GoldenSixteenBitImage(), GoldenOptions());
  ASSERT_TRUE(wide.ok()) << wide.status().ToString();
  EXPECT_EQ(wide->stream, ReadGolden("rgb16bitlow5x3.dcd"));
  auto cut = codec_->Encode(*ReadPng(kDir + "/png/rgb16x16.png"), GoldenCutOptions());
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  EXPECT_EQ(cut->stream, ReadGolden("v8_cut_rgb16x16.dcd"));
  auto first = codec_->Encode(*ReadPng(kDir + "/png/rgb16x16.png"), GoldenFirstStageOptions());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->stream, ReadGolden("v9_first_rgb16x16.dcd"));
  auto kept = codec_->Encode(*ReadPng(kDir + "/png/rgb16x16.png"), GoldenKeptCutOptions());
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(kept->stream, ReadGolden("v10_kept_rgb16x16.dcd"));
  auto mapped = codec_->Encode(GoldenMapImage(), GoldenMapOptions());
  ASSERT_TRUE(mapped.ok()) << mapped.status().ToString();
  EXPECT_EQ(mapped->stream, ReadGolden("v12_map_rgb72x66.dcd"));
}

// The header of a real codec stream: fields as written, and parse -> serialize is the identity.
TEST_F(GoldenTest, HeaderOfGoldenStreamRoundtrips) {
  std::vector<uint8_t> stream = ReadGolden("rgb16x16.dcd");
  auto parsed = bitstream::ParseHeader(stream.data(), stream.size());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const auto& h = parsed->header;
  EXPECT_EQ(h.width, 16u);
  EXPECT_EQ(h.height, 16u);
  EXPECT_EQ(h.channels, 3);
  EXPECT_EQ(h.model_tag, static_cast<uint8_t>(codec_->denoiser().model_id()));
  EXPECT_EQ(h.params.dither_seed, 7u);
  EXPECT_EQ(h.params.tile_size, 16u);
  EXPECT_EQ(h.params.tile_margin, 4u);
  EXPECT_EQ(h.params.chain_stages, 2u);
  EXPECT_EQ(h.params.gaussian_stages, 1u);
  EXPECT_EQ(h.version, 7);
  EXPECT_EQ(parsed->stream_bytes(), stream.size());
  EXPECT_EQ(h.stages, 3u);
  auto again = bitstream::SerializeHeader(h);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, std::vector<uint8_t>(stream.begin(), stream.begin() + parsed->header_bytes));
}

struct Broken {
  const char* file;
  StatusCode code;
  const char* message;  // a substring the message must contain
};

TEST_F(GoldenTest, BrokenStreamsAreRefusedWithTheirReason) {
  const Broken kBroken[] = {
      {"broken/truncated_header.dcd", StatusCode::kTruncated, "ends inside its header"},
      {"broken/wrong_magic.dcd", StatusCode::kInvalidInput, "not a dcodec stream"},
      {"broken/future_version.dcd", StatusCode::kUnsupported, "a later format version (magic d9)"},
      {"broken/format_v1.dcd", StatusCode::kUnsupported, "format version 1 (written by an older dcodec)"},
      {"broken/format_v2.dcd", StatusCode::kUnsupported, "format version 2 (written by an older dcodec)"},
      {"broken/flipped_header_bit.dcd", StatusCode::kCorrupt, "stage 1 (t=300) fails its check"},
      {"broken/flipped_stream_bit.dcd", StatusCode::kCorrupt, "fails its check"},
      {"broken/absurd_dimensions.dcd", StatusCode::kInvalidInput, "image size 70000x16 is out of range"},
      {"broken/too_many_pixels.dcd", StatusCode::kInvalidInput, "image size 65535x65535 is out of range"},
      {"broken/trailing_garbage.dcd", StatusCode::kInvalidInput, "trailing garbage"},
      // The whole stream is there (its header says so), so a damaged last stage is damage, not a prefix's end.
      {"broken/damaged_last_stage.dcd", StatusCode::kCorrupt, "stage 3 (t=0)"},
      {"broken/last_words_zeroed.dcd", StatusCode::kCorrupt, "stage 3 (t=0)"},
      // Its header claims a word more than its stages need.
      {"broken/length_too_long.dcd", StatusCode::kCorrupt, "the header is damaged"},
      {"broken/length_not_whole_words.dcd", StatusCode::kInvalidInput, "whole 32-bit words"},
      {"broken/other_model.dcd", StatusCode::kModelMismatch, "made with another model"},
      // A flipped bit in meta_rgb16x16.dcd's metadata section: the check after it (stage 2's) fails.
      {"broken/damaged_metadata.dcd", StatusCode::kCorrupt, "stage 2 (t=10)"},
      // v8_cut_rgb16x16.dcd with its cut moved from t = 100 to 101: the header's check chain covers the cut.
      {"broken/cut_moved.dcd", StatusCode::kCorrupt, "stage 1 (t=300) fails its check"},
  };
  for (const Broken& b : kBroken) {
    SCOPED_TRACE(b.file);
    std::vector<uint8_t> stream = ReadGolden(b.file);
    ASSERT_FALSE(stream.empty());
    auto dec = codec_->Decode(stream.data(), stream.size(), {});
    ASSERT_FALSE(dec.ok());
    EXPECT_EQ(dec.status().code(), b.code) << dec.status().ToString();
    EXPECT_NE(dec.status().message().find(b.message), std::string::npos) << dec.status().ToString();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The generator. Writes tests/golden/{model.safetensors, *.dcd, streams.txt, broken/*}; the PNG sources come from
// make_pngs.py. Run only on purpose (see the top of this file).

void WriteOrDie(const std::string& name, const std::vector<uint8_t>& bytes) {
  Status s = WriteFileAtomic(kDir + "/" + name, bytes, /*overwrite=*/true);
  ASSERT_TRUE(s.ok()) << s.ToString();
}

std::vector<uint8_t> Varint(uint64_t v) {
  std::vector<uint8_t> out;
  for (; v >= 0x80; v >>= 7) out.push_back(static_cast<uint8_t>(v | 0x80));
  out.push_back(static_cast<uint8_t>(v));
  return out;
}

size_t VarintLength(const std::vector<uint8_t>& s, size_t at) {
  size_t n = 1;
  while (s[at + n - 1] & 0x80) ++n;
  return n;
}

// Replaces the width and height varints (they follow the magic byte, the file length and the packed fields).
void SetDimensions(std::vector<uint8_t>& s, uint64_t width, uint64_t height) {
  const size_t packed_at = 1 + VarintLength(s, 1);
  const size_t at = packed_at + VarintLength(s, packed_at);
  const size_t w_len = VarintLength(s, at), h_len = VarintLength(s, at + w_len);
  std::vector<uint8_t> dims = Varint(width - 1), h = Varint(height - 1);
  dims.insert(dims.end(), h.begin(), h.end());
  s.erase(s.begin() + static_cast<ptrdiff_t>(at), s.begin() + static_cast<ptrdiff_t>(at + w_len + h_len));
  s.insert(s.begin() + static_cast<ptrdiff_t>(at), dims.begin(), dims.end());
}

TEST(GoldenGenerator, DISABLED_RegenerateGoldenFiles) {
  const std::string model = kDir + "/model.safetensors";
  const std::string other = dcodec::testing::TempPath("other.safetensors");
  dcodec::testing::WriteRandomModel(model, 1);
  dcodec::testing::WriteRandomModel(other, 2);
  auto codec = Codec::Load(model);
  auto other_codec = Codec::Load(other);
  ASSERT_TRUE(codec.ok() && other_codec.ok());
  std::remove(other.c_str());

  std::ostringstream manifest;
  manifest << "# Written by golden_test's DISABLED_RegenerateGoldenFiles: file width height channels stages_decoded "
              "exact pixels_xxh64\n";
  auto add = [&](const std::string& file, const std::vector<uint8_t>& stream) {
    WriteOrDie(file, stream);
    auto dec = (*codec)->Decode(stream.data(), stream.size(), {});
    ASSERT_TRUE(dec.ok()) << dec.status().ToString();
    char hex[17];
    std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(PixelHash(dec->image)));
    manifest << file << " " << dec->image.width << " " << dec->image.height << " " << dec->image.channels << " "
             << dec->stages_decoded << " " << (dec->exact ? 1 : 0) << " " << hex << "\n";
  };

  std::vector<uint8_t> rgb;
  for (const char* name : {"rgb16x16", "grey9x7"}) {
    auto png = ReadPng(kDir + "/png/" + name + ".png");
    ASSERT_TRUE(png.ok()) << png.status().ToString();
    auto enc = (*codec)->Encode(*png, GoldenOptions());
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    ASSERT_EQ(enc->stages.size(), 3u);
    const std::vector<uint8_t>& s = enc->stream;
    add(std::string(name) + ".dcd", s);
    // rgb: the prefix that ends exactly after stage 2; grey: a prefix that ends 5 bytes into stage 2.
    size_t cut = std::string(name) == "rgb16x16" ? enc->stages[1].prefix_bytes : enc->stages[0].prefix_bytes + 5;
    add(std::string(name) + "_prefix.dcd", std::vector<uint8_t>(s.begin(), s.begin() + cut));
    if (std::string(name) == "rgb16x16") {
      rgb = s;
      // A file cut one byte short of its end: a prefix of the first two stages, not damage.
      add("rgb16x16_cut.dcd", std::vector<uint8_t>(s.begin(), s.end() - 1));
    }
  }
  // Format 6 with metadata, and its prefix of stage 1 (which ends before the metadata).
  auto tagged = (*codec)->Encode(GoldenImageWithMetadata(), GoldenOptions());
  ASSERT_TRUE(tagged.ok()) << tagged.status().ToString();
  const std::vector<uint8_t>& m = tagged->stream;
  add("meta_rgb16x16.dcd", m);
  add("meta_rgb16x16_stage1.dcd", std::vector<uint8_t>(m.begin(), m.begin() + tagged->stages[0].prefix_bytes));
  std::vector<uint8_t> damaged = m;
  damaged[tagged->stages[0].prefix_bytes + tagged->metadata_bytes / 2] ^= 0x08;  // inside the section
  WriteOrDie("broken/damaged_metadata.dcd", damaged);
  // 16-bit samples whose low bytes matter.
  auto wide = (*codec)->Encode(GoldenSixteenBitImage(), GoldenOptions());
  ASSERT_TRUE(wide.ok()) << wide.status().ToString();
  add("rgb16bitlow5x3.dcd", wide->stream);
  // Format 8: the chain cut at t = 100 ({300, 100}), as rate control writes it (no pixel stage).
  auto cut = (*codec)->Encode(*ReadPng(kDir + "/png/rgb16x16.png"), GoldenCutOptions());
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  ASSERT_EQ(cut->stream[0], bitstream::kMagicV8);
  add("v8_cut_rgb16x16.dcd", cut->stream);
  {
    std::vector<uint8_t> moved = cut->stream;
    auto parsed = bitstream::ParseHeader(moved.data(), moved.size());
    ASSERT_TRUE(parsed.ok());
    ASSERT_EQ(moved[parsed->header_bytes - 1], 100);  // the header's last field: t_end
    moved[parsed->header_bytes - 1] = 101;
    WriteOrDie("broken/cut_moved.dcd", moved);
  }
  // Format 9: the first stage with its own settings.
  auto first = (*codec)->Encode(*ReadPng(kDir + "/png/rgb16x16.png"), GoldenFirstStageOptions());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->stream[0], bitstream::kMagicV9);
  add("v9_first_rgb16x16.dcd", first->stream);
  // Format 10: a cut chain that keeps the timestep above the cut.
  auto kept = (*codec)->Encode(*ReadPng(kDir + "/png/rgb16x16.png"), GoldenKeptCutOptions());
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  ASSERT_EQ(kept->stream[0], bitstream::kMagicV10);
  ASSERT_EQ(kept->stages.size(), 2u);
  add("v10_kept_rgb16x16.dcd", kept->stream);
  // Format 12: region maps.
  auto mapped = (*codec)->Encode(GoldenMapImage(), GoldenMapOptions());
  ASSERT_TRUE(mapped.ok()) << mapped.status().ToString();
  ASSERT_EQ(mapped->stream[0], bitstream::kMagicV12);
  add("v12_map_rgb72x66.dcd", mapped->stream);
  // Format 3 to 6 streams (written by earlier encoders, kept as they were) must still decode.
  for (const char* legacy :
       {"v3_rgb16x16.dcd", "v3_rgb16x16_prefix.dcd", "v3_grey9x7.dcd", "v4_rgb16x16.dcd", "v4_rgb16x16_prefix.dcd",
        "v4_grey9x7.dcd", "v4_grey9x7_prefix.dcd", "v5_rgb16x16.dcd", "v5_rgb16x16_prefix.dcd", "v5_grey9x7.dcd",
        "v5_grey9x7_prefix.dcd", "v6_rgb16x16.dcd", "v6_rgb16x16_prefix.dcd", "v6_grey9x7.dcd", "v6_grey9x7_prefix.dcd",
        "v6_meta_rgb16x16.dcd"}) {
    add(legacy, ReadGolden(legacy));
  }
  const std::string text = manifest.str();
  WriteOrDie("streams.txt", std::vector<uint8_t>(text.begin(), text.end()));

  auto parsed = bitstream::ParseHeader(rgb.data(), rgb.size());
  ASSERT_TRUE(parsed.ok());
  const size_t header_end = parsed->header_bytes;
  auto edit = [&](const std::string& name, auto&& change) {
    std::vector<uint8_t> s = rgb;
    change(s);
    WriteOrDie("broken/" + name, s);
  };
  edit("truncated_header.dcd", [&](auto& s) { s.resize(header_end - 3); });
  edit("wrong_magic.dcd", [](auto& s) { s[0] = 'X'; });
  edit("future_version.dcd", [](auto& s) { s[0] = 0xd9; });
  // The dither seed (7, the first custom field after the 1-byte model tag) becomes 6.
  edit("flipped_header_bit.dcd", [&](auto& s) {
    const size_t packed_at = 1 + VarintLength(s, 1);
    const size_t at = packed_at + VarintLength(s, packed_at);
    const size_t seed_at = at + VarintLength(s, at) + VarintLength(s, at + VarintLength(s, at)) + 1;
    ASSERT_EQ(s[seed_at], 7);
    s[seed_at] ^= 0x01;
  });
  edit("flipped_stream_bit.dcd", [](auto& s) { s[s.size() / 2] ^= 0x10; });
  edit("absurd_dimensions.dcd", [&](auto& s) { SetDimensions(s, 70000, 16); });
  edit("too_many_pixels.dcd", [&](auto& s) { SetDimensions(s, 65535, 65535); });
  edit("trailing_garbage.dcd", [](auto& s) { s.push_back(0); });
  edit("damaged_last_stage.dcd", [](auto& s) { s[s.size() - 6] ^= 0x01; });
  edit("last_words_zeroed.dcd", [](auto& s) { std::fill(s.end() - 8, s.end(), 0); });
  // The file length (after the magic byte) one word more, or one byte more, than the file.
  auto lengthen = [&](uint64_t extra) {  // the header rewritten with the same fields and a longer length
    return [&, extra](auto& s) {
      bitstream::StreamHeader h = parsed->header;
      h.file_bytes += extra;
      auto bytes = bitstream::SerializeHeader(h);
      ASSERT_TRUE(bytes.ok() && bytes->size() == header_end);
      std::copy(bytes->begin(), bytes->end(), s.begin());
    };
  };
  edit("length_too_long.dcd", lengthen(4));
  edit("length_not_whole_words.dcd", lengthen(1));
  auto png = ReadPng(kDir + "/png/rgb16x16.png");
  ASSERT_TRUE(png.ok());
  auto foreign = (*other_codec)->Encode(*png, GoldenOptions());
  ASSERT_TRUE(foreign.ok()) << foreign.status().ToString();
  WriteOrDie("broken/other_model.dcd", foreign->stream);
}

}  // namespace
}  // namespace dcodec::codec
