// End-to-end tests of the progressive codec with a small random model (no trained weights needed).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <random>

#include "bitstream/container.h"
#include "codec/codec.h"
#include "codec/denoiser.h"
#include "codec/entropy_model.h"
#include "codec/rate_control.h"
#include "codec/stage_coder.h"
#include "datasets/metadata_for_test.h"
#include "datasets/png.h"
#include "model/diffusion.h"
#include "model/model_file.h"
#include "model/trainer.h"
#include "tests/test_models.h"

namespace dcodec::codec {
namespace {

Image RandomSmoothImage(int w, int h, int channels, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Image image(w, h, channels);
  double fx = 0.05 + (rng() % 100) / 1000.0, fy = 0.07 + (rng() % 100) / 1000.0;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < channels; ++c) {
        double v = 128 + 80 * std::sin(fx * x * (c + 1)) * std::cos(fy * y) + (rng() % 21) - 10.0;
        image.at(x, y, c) = static_cast<uint8_t>(std::clamp(v, 0.0, 255.0));
      }
  return image;
}

// The same pixels (Image's == compares the metadata too).
bool SamePixels(const Image& a, const Image& b) {
  return a.width == b.width && a.height == b.height && a.channels == b.channels && a.data == b.data;
}

// Small metadata for the streams every bit of which is flipped: an EXIF block and a comment.
Metadata SmallMetadata() {
  Metadata m;
  m.items.push_back({MetadataKind::kExif, "", MakeExifForTest(6)});
  const std::string text = "dcodec test";
  m.items.push_back({MetadataKind::kText, "Comment", std::vector<uint8_t>(text.begin(), text.end())});
  return m;
}

// The bytes of v as a LEB128 varint (the header's file length).
// Decodes the whole of `enc`'s stream: it must decode, to the picture whose PSNR the encoder reported. Returns the
// stages decoded (0 when it does not decode).
int ExpectDecodesAsReported(const Codec& codec, const EncodeResult& enc, const Image& image) {
  auto dec = codec.Decode(enc.stream.data(), enc.stream.size(), {});
  EXPECT_TRUE(dec.ok()) << dec.status().ToString();
  if (!dec.ok()) return 0;
  EXPECT_NEAR(Psnr(dec->image, image), enc.stages.back().psnr, 1e-9);
  return dec->stages_decoded;
}

size_t VarintBytes(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

class CodecE2ETest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_path_ = new std::string(dcodec::testing::TempPath("model.safetensors"));
    other_path_ = new std::string(dcodec::testing::TempPath("other.safetensors"));
    dcodec::testing::WriteRandomModel(*model_path_, 1);
    dcodec::testing::WriteRandomModel(*other_path_, 2);
  }
  static void TearDownTestSuite() {
    std::remove(model_path_->c_str());
    std::remove(other_path_->c_str());
    delete model_path_;
    delete other_path_;
  }
  std::unique_ptr<Codec> Load(const std::string& path) {
    auto codec = Codec::Load(path);
    EXPECT_TRUE(codec.ok()) << codec.status().ToString();
    return std::move(codec).value();
  }
  static EncodeOptions SmallOptions() {
    EncodeOptions o;
    o.chain = {4, 300, 10};
    o.gaussian.stages = 2;  // two Gaussian stages, two dithered ones, the pixels: every kind of stage
    o.tiles = {16, 8, 1};
    o.seed = 11;
    return o;
  }
  static std::string* model_path_;
  static std::string* other_path_;
};
std::string* CodecE2ETest::model_path_ = nullptr;
std::string* CodecE2ETest::other_path_ = nullptr;

TEST_F(CodecE2ETest, LosslessRoundtripRgbGreyOddSizes) {
  auto codec = Load(*model_path_);
  for (auto [w, h, c] : {std::tuple{19, 13, 3}, {1, 1, 3}, {23, 9, 1}}) {
    Image image = RandomSmoothImage(w, h, c, w * 100 + h);
    auto enc = codec->Encode(image, SmallOptions());
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    EXPECT_EQ(enc->stages.size(), 5u);
    auto dec = codec->Decode(enc->stream.data(), enc->stream.size(), {});
    ASSERT_TRUE(dec.ok()) << dec.status().ToString();
    EXPECT_TRUE(dec->exact);
    EXPECT_EQ(dec->image, image) << w << "x" << h << "x" << c;
  }
}

// Format 6 carries the image's metadata (every kind, a 600-byte ICC profile among them) after stage 1, compressed:
// the whole stream gives the exact input, metadata included; a prefix that ends at stage 1 has the first preview
// without it, stage 2's prefix has it; the section costs its compressed bytes and a few bits.
TEST_F(CodecE2ETest, MetadataComesBackWithTheStagesAfterTheFirst) {
  auto codec = Load(*model_path_);
  for (int c : {1, 3, 4}) {
    SCOPED_TRACE(c);
    Image image = RandomSmoothImage(19, 13, c, 40 + c);
    auto bare = codec->Encode(image, SmallOptions());
    ASSERT_TRUE(bare.ok()) << bare.status().ToString();
    EXPECT_EQ(bare->metadata_bytes, 0u);
    image.metadata = MakeMetadataForTest();
    auto enc = codec->Encode(image, SmallOptions());
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    ASSERT_EQ(enc->stages.size(), 5u);
    EXPECT_GT(enc->metadata_bytes, 100u);
    EXPECT_LT(enc->metadata_bytes, image.metadata.payload_bytes());
    // The same stages, the section in between: its bytes and a few bits (words round, the header's length may
    // take a byte more and the final state 4 to 8 bytes).
    EXPECT_LE(enc->stages[0].prefix_bytes, bare->stages[0].prefix_bytes + 5);
    EXPECT_GE(enc->stream.size() + 4, bare->stream.size() + enc->metadata_bytes);
    EXPECT_LE(enc->stream.size(), bare->stream.size() + enc->metadata_bytes + 12);
    auto dec = codec->Decode(enc->stream.data(), enc->stream.size(), {});
    ASSERT_TRUE(dec.ok()) << dec.status().ToString();
    EXPECT_TRUE(dec->exact);
    EXPECT_TRUE(dec->metadata_read);
    EXPECT_EQ(dec->metadata_bytes, enc->metadata_bytes);
    EXPECT_EQ(dec->image, image);
    auto plain = codec->Decode(bare->stream.data(), bare->stream.size(), {});
    ASSERT_TRUE(plain.ok());
    EXPECT_TRUE(plain->metadata_read);
    EXPECT_EQ(plain->metadata_bytes, 0u);
    EXPECT_TRUE(plain->image.metadata.empty());
    DecodeOptions o;
    o.max_bytes = enc->stages[0].prefix_bytes;
    auto first = codec->Decode(enc->stream.data(), enc->stream.size(), o);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    EXPECT_EQ(first->stages_decoded, 1);
    EXPECT_FALSE(first->metadata_read);
    EXPECT_TRUE(first->image.metadata.empty());
    o.max_bytes = enc->stages[1].prefix_bytes;
    auto second = codec->Decode(enc->stream.data(), enc->stream.size(), o);
    ASSERT_TRUE(second.ok()) << second.status().ToString();
    EXPECT_EQ(second->stages_decoded, 2);
    EXPECT_TRUE(second->metadata_read);
    EXPECT_EQ(second->image.metadata, image.metadata);
    // The lossy stages are the metadata-free stream's.
    DecodeOptions three;
    three.max_stages = 3;
    EXPECT_TRUE(SamePixels(codec->Decode(enc->stream.data(), enc->stream.size(), three)->image,
                           codec->Decode(bare->stream.data(), bare->stream.size(), three)->image));
  }
  // Over the limits: refused, naming them.
  Image big = RandomSmoothImage(8, 8, 3, 1);
  for (size_t i = 0; i <= kMaxMetadataItems; ++i) big.metadata.items.push_back({MetadataKind::kText, "k", {}});
  auto refused = codec->Encode(big, SmallOptions());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument) << refused.status().ToString();
}

TEST_F(CodecE2ETest, EveryPrefixDecodesAndRealBytesMatchIdeal) {
  auto codec = Load(*model_path_);
  Image image = RandomSmoothImage(48, 40, 3, 5);
  auto enc = codec->Encode(image, SmallOptions());
  ASSERT_TRUE(enc.ok()) << enc.status().ToString();
  const auto& stream = enc->stream;
  double payload_bits = 0, ideal_bits = 0;
  size_t previous = 0;
  for (size_t j = 0; j < enc->stages.size(); ++j) {
    const auto& s = enc->stages[j];
    EXPECT_GT(s.prefix_bytes, previous);
    previous = s.prefix_bytes;
    payload_bits += s.payload_bytes * 8.0;
    ideal_bits += s.ideal_bits;
    // The prefix ending exactly at this stage decodes this many stages; one byte less decodes one fewer.
    DecodeOptions o;
    o.max_bytes = s.prefix_bytes;
    auto dec = codec->Decode(stream.data(), stream.size(), o);
    ASSERT_TRUE(dec.ok()) << dec.status().ToString();
    EXPECT_EQ(dec->stages_decoded, static_cast<int>(j + 1));
    EXPECT_EQ(dec->bytes_used, s.prefix_bytes);
    // The decoder's audit (DecodeOptions::audit) sees the ideal bits the encoder reported.
    DecodeOptions audit = o;
    audit.audit = true;
    auto audited = codec->Decode(stream.data(), stream.size(), audit);
    ASSERT_TRUE(audited.ok());
    ASSERT_EQ(audited->stages.size(), j + 1);
    EXPECT_NEAR(audited->stages[j].ideal_bits, s.ideal_bits, 1e-6 * s.ideal_bits);
    EXPECT_GT(s.ideal_bits, 0);
    o.max_bytes = s.prefix_bytes - 1;
    auto less = codec->Decode(stream.data(), stream.size(), o);
    ASSERT_TRUE(less.ok()) << less.status().ToString();
    EXPECT_EQ(less->stages_decoded, static_cast<int>(j));
    // --stage K gives the same picture as the byte prefix.
    DecodeOptions by_stage;
    by_stage.max_stages = static_cast<int>(j + 1);
    auto staged = codec->Decode(stream.data(), stream.size(), by_stage);
    ASSERT_TRUE(staged.ok());
    EXPECT_EQ(staged->image, dec->image);
    if (j + 1 < enc->stages.size()) {
      EXPECT_NEAR(Psnr(dec->image, image), s.psnr, 1e-9);  // the encoder's report is what the decoder shows
    }
  }
  EXPECT_EQ(previous, stream.size());
  // One full decode reports every prefix's reconstruction, equal to decoding that prefix alone.
  std::vector<Image> prefixes;
  DecodeOptions all;
  all.on_prefix = [&](int stages, const Image& im) {
    EXPECT_EQ(stages, static_cast<int>(prefixes.size()) + 1);
    prefixes.push_back(im);
  };
  ASSERT_TRUE(codec->Decode(stream.data(), stream.size(), all).ok());
  ASSERT_EQ(prefixes.size(), enc->stages.size());
  EXPECT_EQ(prefixes.back(), image);
  DecodeOptions two;
  two.max_stages = 2;
  EXPECT_EQ(codec->Decode(stream.data(), stream.size(), two)->image, prefixes[1]);
  // Real bytes within 1% of the ideal bits plus the header and 24 fixed bytes (side information, checks, flush).
  EXPECT_EQ(payload_bits, stream.size() * 8.0);
  EXPECT_LT(payload_bits, ideal_bits * 1.01 + 8.0 * (enc->header_bytes + 24));
}

TEST_F(CodecE2ETest, TwoThreadEncodeOneThreadDecodeIdentical) {
  auto codec = Load(*model_path_);
  Image image = RandomSmoothImage(40, 36, 3, 6);  // 3x3 tiles of 16
  EncodeOptions two = SmallOptions();
  two.tiles.threads = 2;
  auto enc2 = codec->Encode(image, two);
  auto enc1 = codec->Encode(image, SmallOptions());
  ASSERT_TRUE(enc2.ok() && enc1.ok());
  EXPECT_EQ(enc2->stream, enc1->stream);
  for (int threads : {1, 2}) {
    DecodeOptions o;
    o.threads = threads;
    o.max_stages = 3;
    auto lossy = codec->Decode(enc2->stream.data(), enc2->stream.size(), o);
    ASSERT_TRUE(lossy.ok()) << lossy.status().ToString();
    o.max_stages = -1;
    auto full = codec->Decode(enc2->stream.data(), enc2->stream.size(), o);
    ASSERT_TRUE(full.ok()) << full.status().ToString();
    EXPECT_EQ(full->image, image);
    static Image first_lossy;
    if (threads == 1)
      first_lossy = lossy->image;
    else
      EXPECT_EQ(lossy->image, first_lossy);
  }
}

TEST_F(CodecE2ETest, RefusesOtherModelTruncatedHeaderAndCorruption) {
  auto codec = Load(*model_path_);
  auto other = Load(*other_path_);
  Image image = RandomSmoothImage(20, 20, 3, 7);
  auto enc = codec->Encode(image, SmallOptions());
  ASSERT_TRUE(enc.ok());
  auto mismatch = other->Decode(enc->stream.data(), enc->stream.size(), {});
  EXPECT_EQ(mismatch.status().code(), StatusCode::kModelMismatch);
  auto cut = codec->Decode(enc->stream.data(), 10, {});
  EXPECT_EQ(cut.status().code(), StatusCode::kTruncated);
  std::vector<uint8_t> bad = enc->stream;
  bad[bad.size() - 3] ^= 0x10;  // inside the last stage's payload
  auto corrupt = codec->Decode(bad.data(), bad.size(), {});
  EXPECT_EQ(corrupt.status().code(), StatusCode::kCorrupt);
  // A version-1 stream gets a clear error.
  const std::vector<uint8_t> v1 = {0x89, 'D', 'C', 'D', 1, 0, 3, 0, 4, 2};
  auto old = codec->Decode(v1.data(), v1.size(), {});
  EXPECT_EQ(old.status().code(), StatusCode::kUnsupported);
}

// Gaussian stages (gaussian_stage.h) against dithered ones: both kinds of stream round-trip, and the first stage,
// whose belief (the planes' means) is the same for both, costs far less as a Gaussian sample: the dithered one pays
// about linearly in the error where the step is large, the Gaussian one the KL plus a few bits a block. Its
// picture is of about the same quality (the same noise variance at t = 300).
TEST_F(CodecE2ETest, GaussianFirstStageCostsLessThanDithered) {
  auto codec = Load(*model_path_);
  double gaussian_bits = 0, dithered_bits = 0, model_bits = 0;
  for (uint64_t seed : {21, 22, 23}) {
    Image image = RandomSmoothImage(48, 40, 3, seed);
    for (int g : {0, 1, 4}) {
      EncodeOptions o = SmallOptions();
      o.gaussian.stages = g;
      o.pixels_only_if_half = false;  // keep the chain (this random model predicts little)
      auto enc = codec->Encode(image, o);
      ASSERT_TRUE(enc.ok()) << enc.status().ToString();
      auto dec = codec->Decode(enc->stream.data(), enc->stream.size(), {});
      ASSERT_TRUE(dec.ok()) << "G = " << g << ": " << dec.status().ToString();
      EXPECT_EQ(dec->image, image);
      auto header = bitstream::ParseHeader(enc->stream.data(), enc->stream.size());
      ASSERT_TRUE(header.ok());
      // The model was trained with none (it has no training record): 0 is its default, the others are written.
      EXPECT_EQ(header->header.params.gaussian_stages, g == 0 ? bitstream::kModelsGaussianStages : g);
      if (g == 0) dithered_bits += enc->stages[0].ideal_bits;
      if (g == 1) gaussian_bits += enc->stages[0].ideal_bits, model_bits += enc->stages[0].model_bits;
    }
  }
  EXPECT_LT(gaussian_bits, 0.6 * dithered_bits);
  EXPECT_LT(gaussian_bits, 1.6 * model_bits + 3 * 2 * 12);  // the KL, plus the block overhead
}

// Above 2^16 pixels the encoder picks fewer candidates a block (codec.h, GaussianOptions), which the header then
// carries; without Gaussian stages it carries none.
TEST_F(CodecE2ETest, LargeImagesWriteGaussianParametersOnlyWhenUsed) {
  auto codec = Load(*model_path_);
  Image image = RandomSmoothImage(264, 250, 3, 31);
  EncodeOptions o;  // the default chain: no parameter but the Gaussian ones differs from the format's defaults
  o.pixel_stage = false;
  for (int g : {-1, 1}) {
    o.gaussian.stages = g;
    auto enc = codec->Encode(image, o);
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    auto parsed = bitstream::ParseHeader(enc->stream.data(), enc->stream.size());
    ASSERT_TRUE(parsed.ok());
    if (g < 0) {
      EXPECT_TRUE(parsed->header.params == bitstream::StreamParams{});
      // No parameters: magic, the file length, packed, 2 + 2 bytes of size, model tag.
      EXPECT_EQ(parsed->header_bytes, 7u + VarintBytes(enc->stream.size()));
    } else {
      EXPECT_EQ(parsed->header.params.gaussian_index_bits, 10u);
      EXPECT_EQ(parsed->header.params.gaussian_block_quarters, 32u);
      ExpectDecodesAsReported(*codec, *enc, image);
    }
  }
}

// Format 9: the first Gaussian stage with its own candidates and budget. The stream says so in its magic and at
// the stage; it decodes exactly, its first prefix shows what the encoder reported, and the stage's index bits follow
// the settings. Where the first stage keeps the stream's settings the stream stays format 7, byte for byte.
TEST_F(CodecE2ETest, FirstGaussianStageWithItsOwnSettingsIsFormat9) {
  auto codec = Load(*model_path_);
  Image image = RandomSmoothImage(40, 36, 3, 77);
  EncodeOptions o;
  o.gaussian.stages = 2;
  o.pixels_only_if_half = false;
  auto plain = codec->Encode(image, o);  // auto: a small image's first stage keeps the stream's settings
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->stream[0], bitstream::kMagic);
  o.gaussian.first_index_bits = -1;
  o.gaussian.first_block_quarters = -1;
  auto same = codec->Encode(image, o);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->stream, plain->stream);

  o.gaussian.first_index_bits = 12;
  o.gaussian.first_block_quarters = 20;
  auto own = codec->Encode(image, o);
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  EXPECT_EQ(own->stream[0], bitstream::kMagicV9);
  auto parsed = bitstream::ParseHeader(own->stream.data(), own->stream.size());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->header.params.gaussian_index_bits, 16u);  // the stream's settings are unchanged
  // Stage 1's indices are 12 bits each, and a block holds 5 bits where the stream's hold 14: more blocks.
  const double blocks = own->stages[0].ideal_bits / 12;
  EXPECT_NEAR(blocks, std::round(blocks), 0.01);  // (stage 1 also carries the alpha flag: a fraction of a bit)
  EXPECT_GT(blocks, 2 * plain->stages[0].ideal_bits / 16);
  EXPECT_EQ(own->stages[0].side_bits, plain->stages[0].side_bits + 1 + 4 + std::log2(255.0));
  EXPECT_EQ(own->stages[1].side_bits, plain->stages[1].side_bits + 1);  // the second keeps the stream's: one bit
  auto dec = codec->Decode(own->stream.data(), own->stream.size(), {});
  ASSERT_TRUE(dec.ok()) << dec.status().ToString();
  EXPECT_EQ(dec->image, image);
  DecodeOptions first;
  first.max_stages = 1;
  auto prefix = codec->Decode(own->stream.data(), own->stream.size(), first);
  ASSERT_TRUE(prefix.ok()) << prefix.status().ToString();
  EXPECT_NEAR(Psnr(prefix->image, image), own->stages[0].psnr, 1e-9);
  // Out of range: refused, naming the first stage.
  o.gaussian.first_index_bits = 17;
  EXPECT_EQ(codec->Encode(image, o).status().code(), StatusCode::kInvalidArgument);
}

// Format 10: a cut whose stages are all Gaussian keeps the timestep that the old rule drops when the cut lies just
// below it. The stream says so in its magic, has that stage, and decodes exactly; the dithered tail's cut, and a
// Gaussian cut that keeps nothing more, stay format 8; with format 9's stage settings it is format 11.
TEST_F(CodecE2ETest, GaussianTailCutKeepsTheStageAboveItInFormat10) {
  auto codec = Load(*model_path_);
  Image image = RandomSmoothImage(40, 36, 3, 78);
  EncodeOptions base;
  base.pixels_only_if_half = false;
  const auto full = MakeChain(codec->denoiser().schedule(), codec->ResolveChain(base.chain));
  ASSERT_TRUE(full.ok() && full->size() >= 3);
  const int t = (*full)[1] - 1;  // just below the second stage: the old rule drops it
  ASSERT_EQ(KeptBeforeCut(*full, t), 1u);
  ASSERT_EQ(KeptBeforeCut(*full, t, /*keep_above_cut=*/true), 2u);

  const EncodeOptions gaussian = OptionsEndingAt(*codec, base, t, CutTail::kGaussian);
  EXPECT_TRUE(gaussian.chain.keep_above_cut);
  auto enc = codec->Encode(image, gaussian);
  ASSERT_TRUE(enc.ok()) << enc.status().ToString();
  EXPECT_EQ(enc->stream[0], bitstream::kMagicV10);
  ASSERT_EQ(enc->stages.size(), 3u);  // τ_K, the kept τ, t_end
  EXPECT_EQ(enc->stages[1].timestep, (*full)[1]);
  EXPECT_EQ(enc->stages[2].timestep, t);
  EXPECT_EQ(ExpectDecodesAsReported(*codec, *enc, image), 3);

  const EncodeOptions dithered = OptionsEndingAt(*codec, base, t, CutTail::kDithered);
  EXPECT_FALSE(dithered.chain.keep_above_cut);
  auto old_rule = codec->Encode(image, dithered);
  ASSERT_TRUE(old_rule.ok()) << old_rule.status().ToString();
  EXPECT_EQ(old_rule->stream[0], bitstream::kMagicV8);
  EXPECT_EQ(old_rule->stages.size(), 2u);

  auto at_stage = codec->Encode(image, OptionsEndingAt(*codec, base, (*full)[1], CutTail::kGaussian));
  ASSERT_TRUE(at_stage.ok()) << at_stage.status().ToString();
  EXPECT_EQ(at_stage->stream[0], bitstream::kMagicV8);  // nothing kept that the old rule drops

  // With a first stage of its own settings (format 9's stream: a settings bit at every Gaussian stage): format 11.
  EncodeOptions own = gaussian;
  own.gaussian.first_index_bits = 12;
  own.gaussian.first_block_quarters = 20;
  auto both = codec->Encode(image, own);
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  EXPECT_EQ(both->stream[0], bitstream::kMagicV11);
  ExpectDecodesAsReported(*codec, *both, image);
}

// Region maps (formats 12 and 13): on by default with 2^14 candidates a block or fewer, where the stream is format 12
// and decodes to what the encoder reported; every Gaussian stage pays for its map in side bits; off, the same picture
// gives format 7; a Gaussian tail's cut that keeps the stage above it is format 13. Maps exclude a first stage of
// its own settings.
TEST_F(CodecE2ETest, RegionMapsInFormats12And13) {
  auto codec = Load(*model_path_);
  Image image = RandomSmoothImage(150, 70, 3, 91);  // 5 × 3 regions
  EncodeOptions base;
  base.pixel_stage = false;
  base.gaussian.stages = 2;
  base.gaussian.index_bits = 10;
  base.gaussian.block_quarters = 32;
  auto mapped = codec->Encode(image, base);
  ASSERT_TRUE(mapped.ok()) << mapped.status().ToString();
  EXPECT_EQ(mapped->stream[0], bitstream::kMagicV12);
  ExpectDecodesAsReported(*codec, *mapped, image);
  EncodeOptions off = base;
  off.gaussian.region_map = -1;
  off.gaussian.first_index_bits = -1;
  off.gaussian.first_block_quarters = -1;
  auto plain = codec->Encode(image, off);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->stream[0], bitstream::kMagic);
  ASSERT_GE(mapped->stages.size(), 3u);
  for (int j = 0; j < 2; ++j) EXPECT_GT(mapped->stages[j].side_bits, plain->stages[j].side_bits) << j;
  EXPECT_NE(mapped->stream, plain->stream);

  // A small picture (2^16 candidates a block) has none unless asked.
  Image small = RandomSmoothImage(40, 36, 3, 78);
  EncodeOptions small_options;
  small_options.pixel_stage = false;
  small_options.gaussian.stages = 2;
  auto auto_small = codec->Encode(small, small_options);
  ASSERT_TRUE(auto_small.ok());
  EXPECT_EQ(auto_small->stream[0], bitstream::kMagic);
  small_options.gaussian.region_map = 1;
  auto forced = codec->Encode(small, small_options);
  ASSERT_TRUE(forced.ok());
  EXPECT_EQ(forced->stream[0], bitstream::kMagicV12);
  ExpectDecodesAsReported(*codec, *forced, small);

  // A Gaussian tail's cut that keeps the stage above it: format 13.
  const auto full = MakeChain(codec->denoiser().schedule(), codec->ResolveChain(base.chain));
  ASSERT_TRUE(full.ok() && full->size() >= 3);
  const int t = (*full)[1] - 1;
  auto kept = codec->Encode(image, OptionsEndingAt(*codec, base, t, CutTail::kGaussian));
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(kept->stream[0], bitstream::kMagicV13);
  EXPECT_EQ(ExpectDecodesAsReported(*codec, *kept, image), 3);

  EncodeOptions both = base;
  both.gaussian.region_map = 1;
  both.gaussian.first_index_bits = 12;
  EXPECT_EQ(codec->Encode(image, both).status().code(), StatusCode::kInvalidArgument);
}

// Auto on a large image (2^10 candidates a block): the first stage is searched with the stream's settings and kept,
// or searched again with half the budget; either way the stream is, byte for byte, the one those settings asked for
// explicitly give, and it decodes to what the encoder reported.
TEST_F(CodecE2ETest, AutoFirstStageWritesTheStreamOfOneOfItsTwoChoices) {
  auto codec = Load(*model_path_);
  Image image = RandomSmoothImage(264, 250, 3, 32);
  EncodeOptions o;
  o.gaussian.stages = 1;
  o.pixel_stage = false;
  o.chain.stages = 2;
  o.gaussian.region_map = -1;  // else the stream has maps (format 12), and the first stage no settings of its own
  auto automatic = codec->Encode(image, o);
  ASSERT_TRUE(automatic.ok()) << automatic.status().ToString();
  o.gaussian.first_index_bits = -1;
  o.gaussian.first_block_quarters = -1;
  auto kept = codec->Encode(image, o);
  o.gaussian.first_index_bits = 10;
  o.gaussian.first_block_quarters = 16;
  auto halved = codec->Encode(image, o);
  ASSERT_TRUE(kept.ok() && halved.ok());
  EXPECT_EQ(kept->stream[0], bitstream::kMagic);
  EXPECT_EQ(halved->stream[0], bitstream::kMagicV9);
  EXPECT_TRUE(automatic->stream == kept->stream || automatic->stream == halved->stream);
  EXPECT_GT(halved->stages[0].ideal_bits, 1.8 * kept->stages[0].ideal_bits);  // twice the blocks
  ExpectDecodesAsReported(*codec, *automatic, image);
}

// The format's fixed cost: a 32x32 stream with default parameters and all five stages spends at most 26 bytes
// beyond the ideal code length of its symbols (header with its 2-byte file length, side information, checks and
// the coder's flush), plus the portable x̂_0's side information.
TEST_F(CodecE2ETest, FixedCostsOfASmallStreamAreAtMost26BytesPlusPortability) {
  auto codec = Load(*model_path_);
  for (uint64_t seed : {1, 2, 3, 4}) {
    Image image = RandomSmoothImage(32, 32, 3, 100 + seed);
    auto enc = codec->Encode(image, EncodeOptions{});  // the defaults: no parameters in the header
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    ASSERT_EQ(enc->stages.size(), 5u);
    double ideal = 0, portable = 0;
    for (const auto& s : enc->stages) {
      ideal += s.ideal_bits;
      portable += s.portable_bits;
    }
    EXPECT_LE(enc->stream.size() - (ideal + portable) / 8, 26.0) << "seed " << seed;
    // Portability (codec/portable.h) adds about 2^-10 of the 4 × 3072 elements the network predicts, a bit each,
    // plus each block's key count: a few bytes.
    EXPECT_GT(portable, 0.0);
    EXPECT_LE(portable / 8, 8.0) << "seed " << seed;
    EXPECT_EQ(enc->header_bytes, 5u + VarintBytes(enc->stream.size()));
  }
}

// Transparency: RGBA and grey + alpha images come back exactly, alpha included, from the whole stream; every
// prefix's picture already carries the exact alpha plane (it opens the stream); a flat image with alpha takes the
// pixels-only path and keeps its alpha too.
TEST_F(CodecE2ETest, AlphaIsCodedLosslesslyAndOpensEveryPrefix) {
  auto codec = Load(*model_path_);
  for (int channels : {4, 2}) {
    SCOPED_TRACE(channels);
    Image image = RandomSmoothImage(24, 20, channels, 40 + channels);
    for (int y = 0; y < 20; ++y) {
      for (int x = 0; x < 24; ++x) image.at(x, y, channels - 1) = x < 8 ? 255 : x < 16 ? (x * 37 + y) % 256 : 0;
    }
    auto enc = codec->Encode(image, EncodeOptions{});
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    auto dec = codec->Decode(enc->stream.data(), enc->stream.size(), {});
    ASSERT_TRUE(dec.ok()) << dec.status().ToString();
    EXPECT_TRUE(dec->exact);
    EXPECT_EQ(dec->image, image);
    DecodeOptions first;
    first.max_stages = 1;
    auto prefix = codec->Decode(enc->stream.data(), enc->stream.size(), first);
    ASSERT_TRUE(prefix.ok());
    ASSERT_EQ(prefix->image.channels, channels);
    for (size_t i = 0; i < image.num_pixels(); ++i) {
      ASSERT_EQ(prefix->image.data[i * channels + channels - 1], image.data[i * channels + channels - 1]) << i;
    }
  }
  Image flat(32, 32, 4);
  for (size_t i = 0; i < flat.num_pixels(); ++i) {
    flat.data[4 * i] = flat.data[4 * i + 1] = flat.data[4 * i + 2] = 90;
    flat.data[4 * i + 3] = i < 512 ? 255 : 0;
  }
  auto enc = codec->Encode(flat, EncodeOptions{});
  ASSERT_TRUE(enc.ok());
  EXPECT_EQ(enc->stages.size(), 1u);  // the pixels alone
  EXPECT_LE(enc->stream.size(), 64u);
  auto dec = codec->Decode(enc->stream.data(), enc->stream.size(), {});
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(dec->image, flat);
}

// A flat image gains nothing from previews: the whole stream falls back to the pixel stage alone (K = 0, no
// network), which the causal context codes in next to nothing; prefixes of it decode to nothing but grey.
TEST_F(CodecE2ETest, FlatImageIsCodedLosslesslyInAFewBytes) {
  auto codec = Load(*model_path_);
  Image flat(32, 32, 3);
  std::fill(flat.data.begin(), flat.data.end(), 128);
  auto enc = codec->Encode(flat, EncodeOptions{});
  ASSERT_TRUE(enc.ok()) << enc.status().ToString();
  EXPECT_LE(enc->stream.size(), 64u);
  ASSERT_EQ(enc->stages.size(), 1u);
  EXPECT_EQ(enc->stages[0].timestep, 0);
  auto dec = codec->Decode(enc->stream.data(), enc->stream.size(), {});
  ASSERT_TRUE(dec.ok()) << dec.status().ToString();
  EXPECT_TRUE(dec->exact);
  EXPECT_EQ(dec->image, flat);
  // Asked for, the progressive stream is still there (and much larger).
  EncodeOptions progressive;
  progressive.pixels_only_if_half = false;
  auto full = codec->Encode(flat, progressive);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->stages.size(), 5u);
  EXPECT_GT(full->stream.size(), 2 * enc->stream.size());
  // A natural-looking image keeps its progressive stream.
  auto smooth = codec->Encode(RandomSmoothImage(32, 32, 3, 21), EncodeOptions{});
  ASSERT_TRUE(smooth.ok());
  EXPECT_EQ(smooth->stages.size(), 5u);
}

// The streams the damage and prefix tests below run over: every way a stream can end (a lossless pixel stage, a
// lossy dithered stage, a lossy Gaussian stage), with and without alpha, grey, and the pixels alone (K = 0).
struct SmallStream {
  std::string name;
  Image image;
  EncodeResult encoded;
};
std::vector<SmallStream> SmallStreams(const Codec& codec, const EncodeOptions& base) {
  std::vector<SmallStream> out;
  auto add = [&](const std::string& name, const Image& image, EncodeOptions o) {
    auto enc = codec.Encode(image, o);
    EXPECT_TRUE(enc.ok()) << name << ": " << enc.status().ToString();
    if (enc.ok()) out.push_back({name, image, *std::move(enc)});
  };
  EncodeOptions lossless = base;
  lossless.chain = {3, 300, 10};
  lossless.gaussian.stages = 1;
  add("lossless", RandomSmoothImage(8, 8, 3, 9), lossless);
  EncodeOptions dithered_end = lossless;
  dithered_end.pixel_stage = false;
  add("lossy, dithered end", RandomSmoothImage(8, 6, 3, 10), dithered_end);
  EncodeOptions gaussian_end = lossless;
  gaussian_end.chain = {2, 300, 30};
  gaussian_end.gaussian.stages = 2;
  gaussian_end.pixel_stage = false;
  add("lossy, Gaussian end", RandomSmoothImage(8, 8, 3, 11), gaussian_end);
  Image rgba = RandomSmoothImage(6, 6, 4, 12);
  for (size_t i = 0; i < rgba.num_pixels(); ++i) rgba.data[4 * i + 3] = i % 6 < 3 ? 255 : static_cast<uint8_t>(i * 7);
  add("lossless with alpha", rgba, lossless);
  add("grey, lossless", RandomSmoothImage(7, 5, 1, 13), lossless);
  Image flat(8, 8, 3);
  std::fill(flat.data.begin(), flat.data.end(), 77);
  add("pixels alone", flat, lossless);
  // Format 6's metadata section: after stage 1's check, or in a one-stage stream before the final check.
  Image tagged = RandomSmoothImage(8, 8, 3, 9);
  tagged.metadata = SmallMetadata();
  add("lossless with metadata", tagged, lossless);
  add("lossy with metadata", tagged, gaussian_end);
  flat.metadata = SmallMetadata();
  add("pixels alone with metadata", flat, lossless);
  return out;
}

// Damage is never shown as a picture (format 5: the header gives the stream's length, so a decoder with the
// whole stream consults every check and treats running out of data as damage; every check covers every symbol
// through the coder's digest). Every single-bit flip of every small stream, header included, is an error: a 9-bit
// stage check that passes by chance is followed by the later ones and the final 31-bit check, so a false pass
// has a chance of about 2^-31 a flip (none is allowed here).
TEST_F(CodecE2ETest, EverySingleBitFlipIsAnError) {
  auto codec = Load(*model_path_);
  for (const SmallStream& s : SmallStreams(*codec, SmallOptions())) {
    SCOPED_TRACE(s.name);
    const auto& stream = s.encoded.stream;
    auto whole = codec->Decode(stream.data(), stream.size(), {});
    ASSERT_TRUE(whole.ok()) << whole.status().ToString();
    EXPECT_EQ(whole->stream_bytes, stream.size());
    std::map<StatusCode, int> codes;
    for (size_t bit = 0; bit < 8 * stream.size(); ++bit) {
      std::vector<uint8_t> flipped = stream;
      flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      auto dec = codec->Decode(flipped.data(), flipped.size(), {});
      ASSERT_FALSE(dec.ok()) << "bit " << bit << " (byte " << bit / 8 << " of " << stream.size() << ") decoded to "
                             << dec->stages_decoded << " stages";
      ++codes[dec.status().code()];
      if (bit / 8 >= s.encoded.header_bytes) {
        // After the header every flip is damage (or, in the state bytes, a state the coder cannot hold).
        ASSERT_TRUE(dec.status().code() == StatusCode::kCorrupt || dec.status().code() == StatusCode::kInvalidInput)
            << "bit " << bit << ": " << dec.status().ToString();
      }
    }
    std::printf(
        "%s: %zu bytes, %zu bits flipped: %d kCorrupt, %d kInvalidInput, %d kModelMismatch, %d other "
        "errors\n",
        s.name.c_str(), stream.size(), 8 * stream.size(), codes[StatusCode::kCorrupt], codes[StatusCode::kInvalidInput],
        codes[StatusCode::kModelMismatch],
        static_cast<int>(8 * stream.size()) - codes[StatusCode::kCorrupt] - codes[StatusCode::kInvalidInput] -
            codes[StatusCode::kModelMismatch]);
  }
}

// Every truncation is a prefix: a file cut at any byte after its header decodes, without an error, to the stages
// complete in it, and to the same picture however those stages are selected (one picture per prefix): the cut
// file, max_bytes of the whole one, and max_stages. A damaged prefix is refused where its checks see it; with
// salvage, a damaged whole stream shows the stages before the damage, as that prefix does.
TEST_F(CodecE2ETest, EveryTruncationIsAPrefixWithOnePicture) {
  auto codec = Load(*model_path_);
  for (const SmallStream& s : SmallStreams(*codec, SmallOptions())) {
    SCOPED_TRACE(s.name);
    const auto& stream = s.encoded.stream;
    const auto& stages = s.encoded.stages;
    std::vector<Image> by_stage;
    for (size_t k = 0; k <= stages.size(); ++k) {
      DecodeOptions o;
      o.max_stages = static_cast<int>(k);
      auto dec = codec->Decode(stream.data(), stream.size(), o);
      ASSERT_TRUE(dec.ok()) << dec.status().ToString();
      ASSERT_EQ(dec->stages_decoded, static_cast<int>(k));
      by_stage.push_back(dec->image);
    }
    if (std::isinf(stages.back().psnr)) {
      EXPECT_EQ(by_stage.back(), s.image);
    }
    EXPECT_EQ(by_stage.back().metadata, s.image.metadata);
    bool metadata_seen = false;
    for (size_t size = s.encoded.header_bytes; size < stream.size(); ++size) {
      size_t complete = 0;
      while (complete < stages.size() && stages[complete].prefix_bytes <= size) ++complete;
      const std::vector<uint8_t> cut(stream.begin(), stream.begin() + static_cast<ptrdiff_t>(size));
      auto dec = codec->Decode(cut.data(), cut.size(), {});
      ASSERT_TRUE(dec.ok()) << size << " bytes: " << dec.status().ToString();
      ASSERT_EQ(dec->stages_decoded, static_cast<int>(complete)) << size << " bytes";
      ASSERT_FALSE(dec->exact);
      ASSERT_EQ(dec->data_bytes, size);
      ASSERT_TRUE(SamePixels(dec->image, by_stage[complete])) << size << " bytes";
      // The metadata comes back with the prefixes that hold all of its section, whole, and only with them.
      ASSERT_EQ(dec->image.metadata, dec->metadata_read ? s.image.metadata : Metadata{}) << size << " bytes";
      if (dec->metadata_read) {
        ASSERT_GE(complete, 1u);
      }
      ASSERT_TRUE(!metadata_seen || dec->metadata_read) << size << " bytes";
      metadata_seen = dec->metadata_read;
      DecodeOptions o;
      o.max_bytes = size;
      auto within = codec->Decode(stream.data(), stream.size(), o);
      ASSERT_TRUE(within.ok()) << within.status().ToString();
      ASSERT_EQ(within->stages_decoded, static_cast<int>(complete));
      ASSERT_EQ(within->image, dec->image) << size << " bytes";
    }
    // Salvage: a flipped bit in the last stage's payload shows the stages before it, as their prefix does.
    if (stages.size() >= 2) {
      std::vector<uint8_t> bad = stream;
      bad[(stages[stages.size() - 2].prefix_bytes + stream.size()) / 2] ^= 0x04;
      auto refused = codec->Decode(bad.data(), bad.size(), {});
      ASSERT_EQ(refused.status().code(), StatusCode::kCorrupt);
      DecodeOptions salvage;
      salvage.salvage = true;
      auto salvaged = codec->Decode(bad.data(), bad.size(), salvage);
      ASSERT_TRUE(salvaged.ok()) << salvaged.status().ToString();
      EXPECT_EQ(salvaged->damage.code(), StatusCode::kCorrupt);
      EXPECT_EQ(salvaged->damage.message(), refused.status().message());
      ASSERT_LT(salvaged->stages_decoded, static_cast<int>(stages.size()));
      EXPECT_TRUE(SamePixels(salvaged->image, by_stage[salvaged->stages_decoded]));
    }
  }
}

// The header's length is covered as well: a file that claims more bytes than its stages need, or fewer, is
// damaged, and so is a whole stream cut and padded back to its length.
TEST_F(CodecE2ETest, TheStreamLengthIsChecked) {
  auto codec = Load(*model_path_);
  Image image = RandomSmoothImage(8, 8, 3, 14);
  auto enc = codec->Encode(image, SmallOptions());
  ASSERT_TRUE(enc.ok());
  auto parsed = bitstream::ParseHeader(enc->stream.data(), enc->stream.size());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->stream_bytes(), enc->stream.size());
  for (int delta : {-4, +4}) {  // a word less or more (the varint keeps its size)
    bitstream::StreamHeader h = parsed->header;
    h.file_bytes = static_cast<uint64_t>(static_cast<int64_t>(h.file_bytes) + delta);
    auto bytes = bitstream::SerializeHeader(h);
    ASSERT_TRUE(bytes.ok());
    bytes->insert(bytes->end(), enc->stream.begin() + static_cast<ptrdiff_t>(parsed->header_bytes), enc->stream.end());
    auto dec = codec->Decode(bytes->data(), bytes->size(), {});
    ASSERT_FALSE(dec.ok()) << delta;
    EXPECT_EQ(dec.status().code(), delta < 0 ? StatusCode::kInvalidInput : StatusCode::kCorrupt) << delta;
    EXPECT_NE(dec.status().message().find(delta < 0 ? "trailing garbage" : "the header is damaged"), std::string::npos)
        << dec.status().message();
  }
  // The last word replaced by zeros: all bytes are there, so the last stage's failure is damage.
  std::vector<uint8_t> zeroed = enc->stream;
  std::fill(zeroed.end() - 4, zeroed.end(), 0);
  auto dec = codec->Decode(zeroed.data(), zeroed.size(), {});
  EXPECT_EQ(dec.status().code(), StatusCode::kCorrupt);
}

TEST_F(CodecE2ETest, TargetsEndTheStreamEarly) {
  auto codec = Load(*model_path_);
  Image image = RandomSmoothImage(32, 32, 3, 8);
  auto full = codec->Encode(image, SmallOptions());
  ASSERT_TRUE(full.ok());
  EncodeOptions o = SmallOptions();
  o.target_bpp = full->stages[2].bpp + 0.01;
  auto by_bpp = codec->Encode(image, o);
  ASSERT_TRUE(by_bpp.ok());
  EXPECT_LE(by_bpp->stream.size() * 8.0 / 1024, o.target_bpp);
  EXPECT_EQ(by_bpp->stages.size(), 3u);
  o = SmallOptions();
  o.target_psnr = full->stages[1].psnr - 1e-6;
  auto by_psnr = codec->Encode(image, o);
  ASSERT_TRUE(by_psnr.ok());
  EXPECT_LE(by_psnr->stages.size(), 2u);
  EXPECT_GE(by_psnr->stages.back().psnr, o.target_psnr);
  auto dec = codec->Decode(by_psnr->stream.data(), by_psnr->stream.size(), {});
  ASSERT_TRUE(dec.ok());
  EXPECT_FALSE(dec->exact);
}

// Rate control to a PSNR.
StatusOr<TargetResult> EncodeToPsnr(const Codec& codec, const Image& image, double psnr) {
  RateTarget target;
  target.psnr = psnr;
  return EncodeToTarget(codec, image, EncodeOptions{}, target);
}

// Rate control with the shipped CIFAR model (codec/rate_control.h): a PSNR target gives the smallest progressive
// stream at or just above it, a bpp target the largest at or just below it, and targets beyond the dithered stages
// give the lossless stream. The decoder's picture has the PSNR the encoder reported.
TEST_F(CodecE2ETest, RateControlLandsOnPsnrAndBppTargets) {
  auto codec = Load(std::string(DCODEC_MODELS_DIR) + "/cifar10.safetensors");
  const Image image = RandomSmoothImage(32, 32, 3, 77);
  for (double psnr : {24.0, 31.0}) {
    SCOPED_TRACE(psnr);
    auto r = EncodeToPsnr(*codec, image, psnr);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_GT(r->t_end, 0);
    EXPECT_GE(r->encoded.stages.back().psnr, psnr);
    // 0.3 dB where the integer t allows; the chain's stage count moves in steps with t (12 stages, 10 of them
    // Gaussian, for this model), and its PSNR jumps with it.
    EXPECT_LE(r->encoded.stages.back().psnr, psnr + 0.8);
    EXPECT_LE(r->trials, 16);  // two searches (both tails) on one walk
    auto dec = codec->Decode(r->encoded.stream.data(), r->encoded.stream.size(), {});
    ASSERT_TRUE(dec.ok()) << dec.status().ToString();
    EXPECT_EQ(dec->stages_decoded, static_cast<int>(r->encoded.stages.size()));
    EXPECT_NEAR(Psnr(dec->image, image), r->encoded.stages.back().psnr, 0.05);
  }
  for (double bpp : {1.5, 4.0}) {
    SCOPED_TRACE(bpp);
    RateTarget target;
    target.bpp = bpp;
    auto r = EncodeToTarget(*codec, image, EncodeOptions{}, target);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const double real = r->encoded.stream.size() * 8.0 / image.num_pixels();
    EXPECT_LE(real, bpp);
    if (real < 0.95 * bpp) {
      // Within 5% where the integer t allows: then the stream one step finer must overshoot.
      auto f = codec->Encode(image, OptionsEndingAt(*codec, EncodeOptions{}, r->t_end - 1, r->tail));
      ASSERT_TRUE(f.ok());
      EXPECT_GT(f->stream.size() * 8.0 / image.num_pixels(), bpp) << "t_end " << r->t_end;
    }
  }
  RateTarget exact;
  exact.psnr = 90;
  auto lossless = EncodeToTarget(*codec, image, EncodeOptions{}, exact);
  ASSERT_TRUE(lossless.ok());
  EXPECT_EQ(lossless->t_end, 0);
  EXPECT_TRUE(std::isinf(lossless->encoded.stages.back().psnr));
  RateTarget both;
  both.psnr = 30;
  both.bpp = 2;
  EXPECT_EQ(EncodeToTarget(*codec, image, EncodeOptions{}, both).status().code(), StatusCode::kInvalidArgument);
}

// A big picture's rate control (RateTarget::proxy_pixels, made small here): the search runs on a proxy of sampled
// squares, then the picture is coded at the cut found, again only while it misses. The stream meets the target,
// is exactly a plain encode of its cut, and decodes to the PSNR reported.
TEST_F(CodecE2ETest, BigPicturesAreSearchedOnAProxy) {
  auto codec = Load(std::string(DCODEC_MODELS_DIR) + "/cifar10.safetensors");
  const Image image = RandomSmoothImage(128, 64, 3, 78);
  EncodeOptions base;
  base.tiles = {32, 8, 2};
  for (double psnr : {29.0}) {
    SCOPED_TRACE(psnr);
    RateTarget target;
    target.psnr = psnr;
    target.proxy_pixels = 32 * 32 * 2;  // 8192 pixels > 2 × 2048: a proxy of 2 × 1 squares
    auto r = EncodeToTarget(*codec, image, base, target);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_GT(r->proxy_trials, 0);
    ASSERT_GE(r->tried.size(), 1u);  // the codings of the picture itself
    EXPECT_LE(r->tried.size(), 4u);
    EXPECT_EQ(r->trials, r->proxy_trials + static_cast<int>(r->tried.size()));
    ASSERT_GT(r->t_end, 0);
    EXPECT_EQ(r->tried.back().t, r->t_end);
    EXPECT_EQ(r->tried.back().tail, r->tail);
    EXPECT_GE(r->encoded.stages.back().psnr, psnr);
    auto plain = codec->Encode(image, OptionsEndingAt(*codec, base, r->t_end, r->tail));
    ASSERT_TRUE(plain.ok());
    EXPECT_EQ(plain->stream, r->encoded.stream);
    auto dec = codec->Decode(r->encoded.stream.data(), r->encoded.stream.size(), {});
    ASSERT_TRUE(dec.ok()) << dec.status().ToString();
    EXPECT_NEAR(Psnr(dec->image, image), r->encoded.stages.back().psnr, 0.05);
  }
  RateTarget rate;
  rate.bpp = 2.0;
  rate.proxy_pixels = 32 * 32 * 2;
  auto r = EncodeToTarget(*codec, image, base, rate);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT(r->proxy_trials, 0);
  EXPECT_LE(r->encoded.stream.size() * 8.0 / image.num_pixels(), 2.0);
  // Beyond the finest dithered stage: the lossless stream of the picture.
  RateTarget exact;
  exact.psnr = 90;
  exact.proxy_pixels = 32 * 32 * 2;
  auto whole = EncodeToTarget(*codec, image, base, exact);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_GT(whole->proxy_trials, 0);
  EXPECT_EQ(whole->t_end, 0);
  auto dec = codec->Decode(whole->encoded.stream.data(), whole->encoded.stream.size(), {});
  ASSERT_TRUE(dec.ok());
  EXPECT_TRUE(dec->exact);
  EXPECT_EQ(dec->image, image);
}

// Both tails are searched on one walk (CutTail), the Gaussian one first, and the smaller stream that meets the target
// is kept: no cut tried that meets it is smaller, and the stream decodes to the PSNR reported.
TEST_F(CodecE2ETest, RateControlKeepsTheSmallerOfTheTwoTails) {
  auto codec = Load(std::string(DCODEC_MODELS_DIR) + "/cifar10.safetensors");
  const Image image = RandomSmoothImage(32, 32, 3, 79);
  bool both_searched = false;
  for (double psnr : {27.0, 33.0, 38.0}) {
    SCOPED_TRACE(psnr);
    auto r = EncodeToPsnr(*codec, image, psnr);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_GT(r->t_end, 0);
    int tails[2] = {0, 0};
    EXPECT_EQ(r->tried.front().tail, CutTail::kGaussian);
    // The dithered tail is searched where the Gaussian search ended at t <= 12 (the coarsest Gaussian cut that
    // meets the target).
    int gaussian_end = 0;
    for (const TriedCut& c : r->tried) {
      if (c.tail == CutTail::kGaussian && c.psnr >= psnr) gaussian_end = std::max(gaussian_end, c.t);
    }
    for (const TriedCut& c : r->tried) {
      ++tails[c.tail == CutTail::kGaussian];
      if (c.psnr < psnr) continue;
      auto plain = codec->Encode(image, OptionsEndingAt(*codec, EncodeOptions{}, c.t, c.tail));
      ASSERT_TRUE(plain.ok()) << plain.status().ToString();
      EXPECT_EQ(plain->stages.back().psnr, c.psnr);
      EXPECT_GE(plain->stream.size(), r->encoded.stream.size()) << "t " << c.t;
    }
    EXPECT_GT(tails[1], 0);
    EXPECT_EQ(tails[0] > 0, gaussian_end <= 12) << "Gaussian search ended at t " << gaussian_end;
    both_searched = both_searched || tails[0] > 0;
    auto dec = codec->Decode(r->encoded.stream.data(), r->encoded.stream.size(), {});
    ASSERT_TRUE(dec.ok()) << dec.status().ToString();
    EXPECT_NEAR(Psnr(dec->image, image), r->encoded.stages.back().psnr, 0.05);
  }
  EXPECT_TRUE(both_searched);  // the finest target reaches small t
  // A chain of one kind has one tail: a model's chain asked for without Gaussian stages searches one.
  EncodeOptions dithered;
  dithered.gaussian.stages = 0;
  RateTarget target;
  target.psnr = 30;
  auto r = EncodeToTarget(*codec, image, dithered, target);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const TriedCut& c : r->tried) EXPECT_EQ(c.tail, CutTail::kDithered);
  // One tail asked for: that one alone.
  for (CutTail tail : {CutTail::kDithered, CutTail::kGaussian}) {
    target.tail = tail;
    auto one = EncodeToTarget(*codec, image, EncodeOptions{}, target);
    ASSERT_TRUE(one.ok()) << one.status().ToString();
    EXPECT_EQ(one->tail, tail);
    EXPECT_GE(one->encoded.stages.back().psnr, 30);
    for (const TriedCut& c : one->tried) EXPECT_EQ(c.tail, tail);
  }
}

TEST(RateControlTest, QualityScale) {
  EXPECT_EQ(QualityToPsnr(75), 36.25);
  EXPECT_EQ(QualityToPsnr(0), 25.0);
  EXPECT_TRUE(std::isinf(QualityToPsnr(100)));
}

// Rate control's trials continue one pass (EncodePass): a pass copied after the stages a cut chain keeps, recut and
// finished, writes exactly the stream a fresh encode of the cut chain writes (the check symbols follow the cut
// header), and that stream decodes.
TEST_F(CodecE2ETest, RecutPassWritesTheStreamOfAFreshEncode) {
  auto codec = Load(*model_path_);
  const Image image = RandomSmoothImage(21, 14, 3, 5);
  EncodeOptions base = SmallOptions();
  base.chain = {6, 300, 10};
  base.gaussian.stages = 3;
  auto pass = codec->StartPass(image, base);
  ASSERT_TRUE(pass.ok()) << pass.status().ToString();
  const std::vector<uint16_t> walk = pass->chain();
  for (const auto& [t_end, tail] : std::vector<std::pair<int, CutTail>>{{250, CutTail::kDithered},
                                                                        {120, CutTail::kDithered},
                                                                        {40, CutTail::kDithered},
                                                                        {12, CutTail::kDithered},
                                                                        {4, CutTail::kDithered},
                                                                        {120, CutTail::kGaussian},
                                                                        {12, CutTail::kGaussian},
                                                                        {4, CutTail::kGaussian}}) {
    SCOPED_TRACE(t_end);
    SCOPED_TRACE(tail == CutTail::kGaussian ? "Gaussian tail" : "dithered tail");
    const EncodeOptions cut = OptionsEndingAt(*codec, base, t_end, tail);
    auto fresh = codec->Encode(image, cut);
    ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
    auto chain = MakeChain(codec->denoiser().schedule(), cut.chain);
    ASSERT_TRUE(chain.ok());
    // Gaussian to the end: every stage, but no more than the base chain's 6 (the cut below t_min has 7).
    if (tail == CutTail::kGaussian) {
      EXPECT_EQ(cut.gaussian.stages, std::min<int>(chain->size(), 6));
    }
    // The stages the cut chain shares with the walk: the same timesteps and kinds.
    int shared = 0;
    while (shared < static_cast<int>(chain->size()) && shared < static_cast<int>(walk.size()) &&
           (*chain)[shared] == walk[shared] && (shared < cut.gaussian.stages) == (shared < 3)) {
      ++shared;
    }
    auto walked = codec->StartPass(image, base);
    ASSERT_TRUE(walked.ok());
    while (walked->coded() < shared) ASSERT_TRUE(walked->Code().ok());
    ASSERT_TRUE(walked->Prepare().ok());
    EncodePass trial = *walked;  // a copy: the walk goes on unchanged
    ASSERT_TRUE(trial.Recut(cut.chain, cut.gaussian.stages).ok());
    while (!trial.done()) ASSERT_TRUE(trial.Code().ok());
    ASSERT_TRUE(trial.Finish(/*pixel_stage=*/false).ok());
    auto sealed = trial.Seal(trial.stages().size());
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    EXPECT_EQ(sealed->stream, fresh->stream);
    EXPECT_EQ(sealed->stages.back().psnr, fresh->stages.back().psnr);
    EXPECT_EQ(walked->coded(), shared);
    EXPECT_EQ(ExpectDecodesAsReported(*codec, *sealed, image), static_cast<int>(chain->size()));
    // Every prefix decodes too.
    for (size_t m = 1; m < sealed->stages.size(); ++m) {
      DecodeOptions d;
      d.max_bytes = sealed->stages[m - 1].prefix_bytes;
      auto prefix = codec->Decode(sealed->stream.data(), sealed->stream.size(), d);
      ASSERT_TRUE(prefix.ok()) << m << ": " << prefix.status().ToString();
      EXPECT_EQ(prefix->stages_decoded, static_cast<int>(m));
    }
  }
  // A chain that does not keep the coded stages is refused.
  auto walked = codec->StartPass(image, base);
  ASSERT_TRUE(walked.ok());
  ASSERT_TRUE(walked->Code().ok());
  ASSERT_TRUE(walked->Code().ok());
  ChainOptions other = base.chain;
  other.t_end = 250;  // {250}: stage 2 of it does not exist, stage 1 differs
  EXPECT_EQ(walked->Recut(other, 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(walked->Recut(base.chain, 1).code(), StatusCode::kInvalidArgument);  // stage 2 would change kind
  EXPECT_TRUE(walked->Recut(base.chain, 2).ok());
}

// A model with a per-pixel scale head: its output enters every belief after the first stage, so encoder and decoder
// must compute the same integer tables from it (its portable grid, HeadScale) for the stream to decode at all.
TEST(ScaleHeadTest, HeadModelRoundtripsEveryPrefixAndUsesTheHead) {
  const std::string path = dcodec::testing::TempPath("head.safetensors");
  dcodec::testing::WriteRandomModel(path, 5, /*scale_head=*/true);
  auto loaded = Codec::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const Codec& codec = **loaded;
  ASSERT_TRUE(codec.denoiser().has_scale_head());
  Image image = RandomSmoothImage(40, 24, 3, 9);
  EncodeOptions options;
  options.chain = {4, 300, 10};
  options.tiles = {16, 8, 2};
  options.seed = 3;
  auto enc = codec.Encode(image, options);
  ASSERT_TRUE(enc.ok()) << enc.status().ToString();
  ASSERT_EQ(enc->stages.size(), 5u);
  for (size_t j = 0; j < enc->stages.size(); ++j) {
    DecodeOptions o;
    o.max_bytes = enc->stages[j].prefix_bytes;
    o.audit = true;
    auto dec = codec.Decode(enc->stream.data(), enc->stream.size(), o);
    ASSERT_TRUE(dec.ok()) << "stage " << j + 1 << ": " << dec.status().ToString();
    EXPECT_EQ(dec->stages_decoded, static_cast<int>(j + 1));
    EXPECT_NEAR(dec->stages[j].ideal_bits, enc->stages[j].ideal_bits, 1e-6 * enc->stages[j].ideal_bits);
    if (j + 1 == enc->stages.size()) {
      EXPECT_EQ(dec->image, image);
    }
  }
  // The head's output varies over the image, so the beliefs really are per element.
  std::vector<float> x_t(3 * 40 * 24), eps(x_t.size()), log_scale(x_t.size(), 0.0f);
  for (size_t i = 0; i < x_t.size(); ++i) x_t[i] = static_cast<float>(std::sin(0.37 * i));
  ASSERT_TRUE(codec.denoiser().PredictEps(x_t.data(), 40, 24, 45, {16, 8, 1}, eps.data(), log_scale.data()).ok());
  auto [lo, hi] = std::minmax_element(log_scale.begin(), log_scale.end());
  EXPECT_GT(*hi - *lo, 0.1f);
  // A one-bit change in the portable side information of the head (or anywhere) is caught, not decoded wrongly.
  std::vector<uint8_t> bad = enc->stream;
  bad[bad.size() / 2] ^= 0x04;
  auto corrupt = codec.Decode(bad.data(), bad.size(), {});
  EXPECT_FALSE(corrupt.ok() && corrupt->image == image);
  std::remove(path.c_str());
}

// A model trained in bf16 autocast (model/trainer.h, TrainOptions::precision) is a float32 model file like any
// other: the codec runs it in float32, a lossless stream decodes to the exact pixels, and the encoder's and
// decoder's thread counts do not change the stream or the picture.
TEST(Bf16TrainingTest, Bf16TrainedModelCodesExactlyInFloat32) {
  const std::string dir = dcodec::testing::TempPath("bf16_data");
  ASSERT_EQ(std::system(("mkdir -p " + dir).c_str()), 0);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(WritePng(dir + "/" + std::to_string(i) + ".png", RandomSmoothImage(24, 24, 3, 40 + i), true).ok());
  }
  model::TrainOptions o;
  o.data = "images:" + dir;
  o.crop = 16;
  o.max_downscale = 1.2;
  o.preset = "tiny";
  o.batch_size = 4;
  o.steps = 3;
  o.warmup = 1;
  o.lr = 1e-3;
  o.seed = 5;
  o.precision = "bf16";
  o.run_dir = dcodec::testing::TempPath("bf16_run");
  Status trained = model::Train(o, nullptr);
  ASSERT_TRUE(trained.ok()) << trained.ToString();
  auto loaded = Codec::Load(o.run_dir + "/model.safetensors");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const Codec& codec = **loaded;
  const Image image = RandomSmoothImage(33, 20, 3, 8);
  EncodeOptions options;
  options.chain = {3, 300, 10};
  options.gaussian.stages = 1;
  options.tiles = {16, 8, 2};
  options.seed = 4;
  auto two = codec.Encode(image, options);
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  options.tiles.threads = 1;
  auto one = codec.Encode(image, options);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(one->stream, two->stream);
  for (int threads : {1, 2}) {
    DecodeOptions d;
    d.threads = threads;
    auto dec = codec.Decode(two->stream.data(), two->stream.size(), d);
    ASSERT_TRUE(dec.ok()) << dec.status().ToString();
    EXPECT_TRUE(dec->exact);
    EXPECT_TRUE(SamePixels(dec->image, image));
  }
  ASSERT_EQ(std::system(("rm -rf " + dir + " " + o.run_dir).c_str()), 0);
}

// The trainer's relaxed coded rate (model/diffusion.h, LossChainWithRate and LogisticBinBits) against the real
// coder: one dithered stage and the pixel stage of a 32x32 image with a known per-element scale, coded through the
// codec's beliefs with that scale (HeadScale, logistic family), sealed into bytes.
TEST(ScaleHeadTest, RelaxedRateTracksTheRealCodedSize) {
  const auto schedule = model::NoiseSchedule::Make(model::BetaSchedule::kLinear, 1000);
  const auto post = schedule.posterior(10, 45);
  const size_t n = 3 * 32 * 32;
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  Image image = RandomSmoothImage(32, 32, 3, 21);
  std::vector<uint8_t> pixels(n);
  std::vector<float> x0_hat(n), x_t(n);
  std::vector<int32_t> log_scale(n);
  std::vector<double> scale(n);  // in units of x_0
  const uint8_t code = 80;       // the stage's multiplier: HeadScale(80, q) = 2^((q − 48)/16)
  for (size_t i = 0; i < n; ++i) {
    const size_t plane = 32 * 32, c = i / plane, xy = i % plane;
    pixels[i] = image.at(static_cast<int>(xy % 32), static_cast<int>(xy / 32), static_cast<int>(c));
    log_scale[i] = static_cast<int32_t>((xy % 32) + 8 * c) - 8;  // two and a half octaves across the image
    scale[i] = HeadScale(code, log_scale[i]);
    const double v = unit(rng);
    const double x0 = PixelToUnit(pixels[i]);
    x0_hat[i] = static_cast<float>(std::clamp(x0 + scale[i] * std::log(v / (1 - v)), -1.0, 1.0));  // logistic error
    x_t[i] = static_cast<float>(0.9 * x0 + 0.1 * std::sin(0.1 * i));
  }
  Belief belief;
  belief.family = bitstream::Family::kLogistic;
  belief.scale_code = code;
  DitherStage st{post.coef_x0,    post.coef_xt, std::sqrt(12.0 * post.variance),
                 DitherKey(4, 2), nullptr,      log_scale.data()};
  // The relaxed rates, as the trainer computes them.
  std::vector<float> z_dither(n), s_dither(n), z_pixels(n), s_pixels(n);
  for (size_t i = 0; i < n; ++i) {
    const double r = PixelToUnit(pixels[i]) - x0_hat[i];
    z_dither[i] = static_cast<float>(st.coef_x0 * r / st.step + Dither(st.dither_key, i));
    s_dither[i] = static_cast<float>(st.coef_x0 * scale[i] / st.step);
    z_pixels[i] = static_cast<float>(127.5 * r);
    s_pixels[i] = static_cast<float>(127.5 * scale[i]);
  }
  auto relaxed = [&](std::vector<float>& z, std::vector<float>& s) {
    const int64_t size = static_cast<int64_t>(n);
    return model::LogisticBinBits(torch::from_blob(z.data(), {size}), torch::from_blob(s.data(), {size}))
        .sum()
        .item<double>();
  };
  const double relaxed_dither = relaxed(z_dither, s_dither), relaxed_pixels = relaxed(z_pixels, s_pixels);
  // The real coder: each stage alone in a sealed stream (measured: 0.4% and 0.15% above the relaxed rate).
  Cells cells(n);
  std::vector<float> x_s(n);
  std::vector<int32_t> symbols(n);
  bitstream::AnsEncoder enc;
  double ideal = 0;
  ASSERT_TRUE(EncodeDitherStage(st, belief, cells, x_t.data(), x0_hat.data(), pixels.data(), n, enc, x_s.data(),
                                symbols.data(), &ideal)
                  .ok());
  const double real_dither = 8.0 * enc.Seal(0).bytes.size();
  bitstream::AnsEncoder pixel_enc;
  ASSERT_TRUE(
      EncodePixelStage(belief, Cells(n), x0_hat.data(), pixels.data(), 32, 32, pixel_enc, &ideal, log_scale.data())
          .ok());
  const double real_pixels = 8.0 * pixel_enc.Seal(0).bytes.size();
  EXPECT_GT(relaxed_dither, 0.5 * n);  // a stage that costs something: bits per element ~1-3
  EXPECT_NEAR(real_dither / relaxed_dither, 1.0, 0.02) << real_dither << " vs " << relaxed_dither;
  EXPECT_NEAR(real_pixels / relaxed_pixels, 1.0, 0.02) << real_pixels << " vs " << relaxed_pixels;
}

// A model file's codec record sets the chain its streams use when the header says "the model's" (custom = 0):
// such streams pay no header byte for it, and a stream that asks for another chain, even the format's, says so.
TEST_F(CodecE2ETest, ModelsCodecRecordIsTheDefaultChainAndCostsNoHeaderByte) {
  auto loaded = model::LoadModel(*model_path_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  loaded->info.metadata[kCodecRecordKey] =
      R"({"chain_stages": 3, "chain_t_max": 300, "chain_t_min": 20, "gaussian_stages": 1})";
  const std::string with_record = dcodec::testing::TempPath("with_record.safetensors");
  ASSERT_TRUE(model::SaveModel(with_record, loaded->net, loaded->info).ok());
  auto codec = Load(with_record);
  EXPECT_EQ(codec->denoiser().codec_defaults(), (CodecDefaults{3, 300, 20, 1}));
  const ChainOptions resolved = codec->ResolveChain({});
  EXPECT_EQ(resolved.stages, 3);
  EXPECT_EQ(resolved.t_max, 300);
  EXPECT_EQ(resolved.t_min, 20);
  EXPECT_EQ(codec->ResolveChain({5, kModelsChain, 7}).t_max, 300);

  Image image = RandomSmoothImage(12, 10, 3, 5);
  EncodeOptions o;  // every parameter the default
  o.pixels_only_if_half = false;
  auto plain = codec->Encode(image, o);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  auto header = bitstream::ParseHeader(plain->stream.data(), plain->stream.size());
  ASSERT_TRUE(header.ok());
  EXPECT_FALSE(header->header.explicit_params);
  EXPECT_EQ(header->header_bytes, 5u + VarintBytes(plain->stream.size()));
  EXPECT_EQ(header->header.stages, 4u);  // 3 stages and the pixels, beyond the format's default chain of 4 + 1
  ASSERT_EQ(plain->stages.size(), 4u);
  EXPECT_EQ(plain->stages[0].timestep, 300);
  EXPECT_EQ(plain->stages[2].timestep, 20);
  auto dec = codec->Decode(plain->stream.data(), plain->stream.size(), {});
  ASSERT_TRUE(dec.ok()) << dec.status().ToString();
  EXPECT_TRUE(dec->exact);
  EXPECT_EQ(dec->image, image);
  EXPECT_EQ(dec->schedule_stages, 4);

  // The same chain asked for explicitly is the model's: the same stream.
  o.chain = {3, 300, 20};
  o.gaussian.stages = 1;
  auto same = codec->Encode(image, o);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->stream, plain->stream);

  // The format's chain is another chain for this model: written out (custom = 1), and decoded as such.
  o.chain = {4, 400, 10};
  o.gaussian.stages = 1;
  auto format_chain = codec->Encode(image, o);
  ASSERT_TRUE(format_chain.ok()) << format_chain.status().ToString();
  auto explicit_header = bitstream::ParseHeader(format_chain->stream.data(), format_chain->stream.size());
  ASSERT_TRUE(explicit_header.ok());
  EXPECT_TRUE(explicit_header->header.explicit_params);
  EXPECT_GT(explicit_header->header_bytes, header->header_bytes);
  auto dec4 = codec->Decode(format_chain->stream.data(), format_chain->stream.size(), {});
  ASSERT_TRUE(dec4.ok()) << dec4.status().ToString();
  EXPECT_TRUE(dec4->exact);
  EXPECT_EQ(dec4->schedule_stages, 5);

  // The first stream's header flipped to custom with the format's values no longer decodes to the same chain:
  // its check fails rather than printing a picture.
  auto relabel = [&](int stages) {
    bitstream::StreamHeader h = header->header;
    h.explicit_params = true;
    h.params.chain_stages = static_cast<uint32_t>(stages);  // from 300 to 20, the model's Gaussian stages
    h.params.chain_t_max = 300;
    h.params.chain_t_min = 20;
    const std::vector<uint8_t> payload(plain->stream.begin() + static_cast<ptrdiff_t>(header->header_bytes),
                                       plain->stream.end());
    auto bytes = bitstream::SerializeHeaderFor(h, payload.size());
    EXPECT_TRUE(bytes.ok());
    bytes->insert(bytes->end(), payload.begin(), payload.end());
    return *bytes;
  };
  const std::vector<uint8_t> relabelled_bytes = relabel(3);
  auto relabelled = codec->Decode(relabelled_bytes.data(), relabelled_bytes.size(), {});
  ASSERT_TRUE(relabelled.ok()) << relabelled.status().ToString();  // the same chain, written out: decodes
  EXPECT_EQ(relabelled->image, image);
  const std::vector<uint8_t> other_chain = relabel(4);  // 4 stages from 300 to 20: another chain
  EXPECT_FALSE(codec->Decode(other_chain.data(), other_chain.size(), {}).ok());
  std::remove(with_record.c_str());
}

TEST_F(CodecE2ETest, BadCodecRecordsAreRefusedNamingTheFile) {
  auto loaded = model::LoadModel(*model_path_);
  ASSERT_TRUE(loaded.ok());
  const std::string path = dcodec::testing::TempPath("bad_record.safetensors");
  for (const char* record : {R"({"chain_stages": 3, "stages": 2})", R"({"chain_t_min": 500})",
                             R"({"chain_stages": "five"})", R"([3, 300, 20])", R"({"gaussian_stages": -1})"}) {
    loaded->info.metadata[kCodecRecordKey] = record;
    ASSERT_TRUE(model::SaveModel(path, loaded->net, loaded->info).ok());
    auto codec = Codec::Load(path);
    ASSERT_FALSE(codec.ok()) << record;
    EXPECT_EQ(codec.status().code(), StatusCode::kInvalidInput) << record;
    EXPECT_NE(codec.status().message().find(path), std::string::npos) << codec.status().ToString();
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace dcodec::codec
