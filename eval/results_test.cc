#include "eval/results.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "base/file_io.h"
#include "eval/subprocess.h"

namespace dcodec::eval {
namespace {

RdCurve Example() {
  RdCurve c;
  c.name = "jpeg";
  c.description = "libjpeg-turbo, -optimize";
  c.bpp = {0.25, 0.5, 1.0};
  c.psnr = {28.5, 31.25, 34.0};
  c.ms_ssim = {0.9, 0.95, 0.98};
  c.encode_seconds = {0.01, 0.02, 0.03};
  c.decode_seconds = {0.004, 0.005, 0.006};
  return c;
}

TEST(ResultsTest, JsonHasCompressAiLayout) {
  nlohmann::json j = Example().ToJson();
  EXPECT_EQ(j["name"], "jpeg");
  EXPECT_EQ(j["description"], "libjpeg-turbo, -optimize");
  EXPECT_EQ(j["results"]["bpp"], nlohmann::json({0.25, 0.5, 1.0}));
  EXPECT_EQ(j["results"]["psnr-rgb"], nlohmann::json({28.5, 31.25, 34.0}));
  EXPECT_EQ(j["results"]["ms-ssim-rgb"].size(), 3u);
  EXPECT_EQ(j["results"]["encoding_time"].size(), 3u);
  EXPECT_EQ(j["results"]["decoding_time"].size(), 3u);
  EXPECT_FALSE(j["results"].contains("butteraugli"));  // not measured: not written
  RdCurve with = Example();
  with.butteraugli = {4.5, 2.25, NAN};
  nlohmann::json b = with.ToJson();
  EXPECT_EQ(b["results"]["butteraugli"], nlohmann::json({4.5, 2.25, nullptr}));
  auto back = RdCurve::FromJson(b);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->butteraugli.size(), 3u);
  EXPECT_EQ(back->butteraugli[1], 2.25);
  EXPECT_TRUE(std::isnan(back->butteraugli[2]));
  with.butteraugli.pop_back();
  EXPECT_FALSE(RdCurve::FromJson(with.ToJson()).ok());  // arrays of other lengths
}

TEST(ResultsTest, JsonRoundTrip) {
  RdCurve c = Example();
  c.psnr[2] = INFINITY;
  auto back = RdCurve::FromJson(nlohmann::json::parse(c.ToJson().dump()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->name, c.name);
  EXPECT_EQ(back->description, c.description);
  EXPECT_EQ(back->bpp, c.bpp);
  EXPECT_EQ(back->ms_ssim, c.ms_ssim);
  EXPECT_EQ(back->encode_seconds, c.encode_seconds);
  EXPECT_EQ(back->decode_seconds, c.decode_seconds);
  EXPECT_EQ(back->psnr[1], 31.25);
  EXPECT_TRUE(std::isnan(back->psnr[2]));  // written as null
}

TEST(ResultsTest, ReadsOlderKeysAndMissingArrays) {
  auto c = RdCurve::FromJson(
      nlohmann::json::parse(R"({"name": "x", "results": {"bpp": [0.1, 0.2], "psnr": [30, 31], "extra": 1}})"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->psnr, (std::vector<double>{30, 31}));
  EXPECT_TRUE(c->ms_ssim.empty());
  EXPECT_TRUE(c->description.empty());
}

TEST(ResultsTest, RejectsMalformedJson) {
  for (const char* text : {"[1]", "{\"results\": {}}", "{\"results\": {\"bpp\": [1, 2], \"psnr-rgb\": [3]}}",
                           "{\"results\": {\"bpp\": [\"a\"]}}", "{\"name\": 3, \"results\": {\"bpp\": []}}"}) {
    auto c = RdCurve::FromJson(nlohmann::json::parse(text), "r.json");
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidInput) << text;
    EXPECT_NE(c.status().message().find("r.json"), std::string::npos);
  }
}

TEST(ResultsTest, FileRoundTrip) {
  auto dir = TempDir::Create("dcodec-results-test");
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(WriteRdCurve(dir->File("c.json"), Example(), false).ok());
  EXPECT_FALSE(WriteRdCurve(dir->File("c.json"), Example(), false).ok());
  auto c = ReadRdCurve(dir->File("c.json"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->psnr, Example().psnr);

  ASSERT_TRUE(WriteFileAtomic(dir->File("bad.json"), std::vector<uint8_t>{'{', 'x'}, false).ok());
  auto bad = ReadRdCurve(dir->File("bad.json"));
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(bad.status().message().find("bad.json"), std::string::npos);
}

TEST(ResultsTest, WritesCsv) {
  auto dir = TempDir::Create("dcodec-results-test");
  ASSERT_TRUE(dir.ok());
  std::vector<RdRow> rows = {{"jpeg", "a.png", "q50", 0.8125, 31.5, 0.97, 0.011, 0.004, 2.5},
                             {"jpeg", "b, \"c\".png", "q50", 1.0, INFINITY, 1.0, 0.5, 0.25}};
  ASSERT_TRUE(WriteCsv(dir->File("rows.csv"), rows).ok());
  auto bytes = ReadFileBytes(dir->File("rows.csv"));
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(std::string(bytes->begin(), bytes->end()),
            "codec,image,point,bpp,psnr,ms_ssim,encode_seconds,decode_seconds,butteraugli\n"
            "jpeg,a.png,q50,0.8125,31.5,0.97,0.011,0.004,2.5\n"
            "jpeg,\"b, \"\"c\"\".png\",q50,1,inf,1,0.5,0.25,nan\n");
  EXPECT_TRUE(WriteCsv(dir->File("rows.csv"), rows).ok());  // overwrites by default
  EXPECT_FALSE(WriteCsv(dir->File("rows.csv"), rows, /*overwrite=*/false).ok());
}

TEST(ResultsTest, AverageCurve) {
  std::vector<RdRow> rows = {
      {"jpeg", "a", "q90", 2.0, 40, 0.99, 0.2, 0.1}, {"jpeg", "b", "q90", 4.0, 36, 0.97, 0.4, 0.3},
      {"jpeg", "a", "q10", 0.2, 30, 0.90, 0.1, 0.1}, {"jpeg", "b", "q10", 0.4, 26, 0.80, 0.3, 0.1},
      {"webp", "a", "q10", 9.0, 99, 0.10, 9.0, 9.0},
  };
  RdCurve c = AverageCurve(rows, "jpeg");
  EXPECT_EQ(c.name, "jpeg");
  ASSERT_EQ(c.bpp.size(), 2u);
  EXPECT_DOUBLE_EQ(c.bpp[0], 0.3);  // sorted by bpp: q10 first
  EXPECT_DOUBLE_EQ(c.bpp[1], 3.0);
  EXPECT_DOUBLE_EQ(c.psnr[0], 28);
  EXPECT_DOUBLE_EQ(c.psnr[1], 38);
  EXPECT_DOUBLE_EQ(c.ms_ssim[0], 0.85);
  EXPECT_DOUBLE_EQ(c.encode_seconds[1], 0.3);
  EXPECT_DOUBLE_EQ(c.decode_seconds[1], 0.2);

  EXPECT_TRUE(c.butteraugli.empty());  // no row has a distance

  // Butteraugli: the mean where every image of the point has it, NaN where one lacks it.
  rows[0].butteraugli = 1.0;
  rows[1].butteraugli = 2.0;
  rows[2].butteraugli = 5.0;
  RdCurve b = AverageCurve(rows, "jpeg");
  ASSERT_EQ(b.butteraugli.size(), 2u);
  EXPECT_TRUE(std::isnan(b.butteraugli[0]));  // q10: image b has none
  EXPECT_DOUBLE_EQ(b.butteraugli[1], 1.5);

  RdCurve none = AverageCurve(rows, "avif");
  EXPECT_EQ(none.name, "avif");
  EXPECT_TRUE(none.bpp.empty());
}

}  // namespace
}  // namespace dcodec::eval
