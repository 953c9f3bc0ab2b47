#include "eval/plot.h"

#include <gtest/gtest.h>

#include <cmath>

#include "base/file_io.h"
#include "eval/subprocess.h"

namespace dcodec::eval {
namespace {

TEST(PlotTest, WritesPng) {
  if (!IsOnPath("gnuplot")) GTEST_SKIP() << "gnuplot not on PATH";
  auto dir = TempDir::Create("dcodec-plot-test");
  ASSERT_TRUE(dir.ok());
  RdCurve a{"jpeg", "", {0.2, 0.5, 1.0}, {27, 31, 35}, {0.9, 0.95, 0.98}, {}, {}};
  RdCurve b{"it's dcodec_v1", "", {0.1, 0.3, 0.9, 2.0}, {28, 32, 36, INFINITY}, {0.92, 0.96, 0.99, 1.0}, {}, {}};
  const uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  for (Metric metric : {Metric::kPsnr, Metric::kMsSsim}) {
    std::string path = dir->File(metric == Metric::kPsnr ? "psnr.png" : "msssim.png");
    Status s = PlotRd({a, b}, path, "Kodak 'test' set", metric);
    ASSERT_TRUE(s.ok()) << s.ToString();
    auto bytes = ReadFileBytes(path);
    ASSERT_TRUE(bytes.ok());
    ASSERT_GT(bytes->size(), 1000u);
    EXPECT_TRUE(std::equal(kSignature, kSignature + 8, bytes->begin()));
  }
  // Replaces an existing file.
  EXPECT_TRUE(PlotRd({a}, dir->File("psnr.png"), "again", Metric::kPsnr).ok());
}

TEST(PlotTest, NothingToPlot) {
  if (!IsOnPath("gnuplot")) GTEST_SKIP() << "gnuplot not on PATH";
  RdCurve empty{"x", "", {}, {}, {}, {}, {}};
  EXPECT_EQ(PlotRd({empty}, "/nonexistent/x.png", "t", Metric::kPsnr).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PlotRd({}, "/nonexistent/x.png", "t", Metric::kPsnr).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dcodec::eval
