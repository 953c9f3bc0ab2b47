#include "datasets/training_data.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "datasets/png.h"

namespace dcodec {
namespace {

TEST(TrainingDataTest, CropResizeAveragesAndFlips) {
  Image image(4, 4, 3);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x)
      for (int c = 0; c < 3; ++c) image.at(x, y, c) = x < 2 ? 0 : 200;
  std::vector<uint8_t> out(3 * 2 * 2);
  CropResize(image, 0, 0, 2.0, 2, false, out.data());
  EXPECT_EQ(out[0], 0);    // c0, (0,0): average of the left half
  EXPECT_EQ(out[1], 200);  // c0, (1,0)
  CropResize(image, 1, 0, 1.0, 2, true, out.data());
  EXPECT_EQ(out[0], 200);  // flipped: x=2 lands at 0
  EXPECT_EQ(out[1], 0);
  CropResize(image, 1, 0, 1.5, 2, false, out.data());  // covers x in [1, 2.5): (0.5*0 + 1*0)/... then mixed
  EXPECT_EQ(out[0], 67);   // [1,2.5): 1 px of 0 and 0.5 px of 200 -> 66.7
}

TEST(TrainingDataTest, ImagesFolderDeterministicBySeed) {
  std::string dir = ::testing::TempDir() + "/imgs" + std::to_string(::getpid());
  ASSERT_EQ(system(("mkdir -p " + dir).c_str()), 0);
  Image image(40, 30, 3);
  for (size_t i = 0; i < image.data.size(); ++i) image.data[i] = (i * 7) & 255;
  ASSERT_TRUE(WritePng(dir + "/a.png", image, true).ok());
  auto data = OpenTrainingData("images:" + dir, {16, 2.0});
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  std::vector<uint8_t> a(4 * 3 * 16 * 16), b(a.size());
  std::mt19937_64 r1(5), r2(5);
  (*data)->Sample(4, r1, a.data());
  (*data)->Sample(4, r2, b.data());
  EXPECT_EQ(a, b);
  (*data)->Sample(4, r2, b.data());
  EXPECT_NE(a, b);
  EXPECT_FALSE(OpenTrainingData("images:" + dir, {64, 2.0}).ok());  // no image large enough
  EXPECT_FALSE(OpenTrainingData("bogus", {}).ok());
  EXPECT_FALSE(OpenTrainingData("mnist:/x", {}).ok());
}

// Data-parallel ranks each read their own slice of the global batch: the slices of any split, concatenated, are the
// whole batch byte for byte, and the generator ends where the whole batch's draw leaves it.
TEST(TrainingDataTest, SlicesOfABatchConcatenateToTheBatch) {
  std::string dir = ::testing::TempDir() + "/slices" + std::to_string(::getpid());
  ASSERT_EQ(system(("mkdir -p " + dir).c_str()), 0);
  for (int k = 0; k < 3; ++k) {
    Image image(40 + 7 * k, 30 + 5 * k, 3);
    for (size_t i = 0; i < image.data.size(); ++i) image.data[i] = (i * (7 + k)) & 255;
    ASSERT_TRUE(WritePng(dir + "/" + std::to_string(k) + ".png", image, true).ok());
  }
  auto data = OpenTrainingData("images:" + dir, {16, 2.0});
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  const size_t bytes = 3 * 16 * 16;
  std::vector<uint8_t> whole(7 * bytes);
  std::mt19937_64 r(11);
  (*data)->Sample(7, r, whole.data());
  const uint64_t after_whole = r();
  for (int split : {1, 3, 6}) {
    std::vector<uint8_t> joined;
    uint64_t after = 0;
    for (auto [first, count] : {std::pair{0, split}, std::pair{split, 7 - split}}) {
      std::vector<uint8_t> part(count * bytes, 0xAB);
      std::mt19937_64 rs(11);
      (*data)->SampleSlice(7, first, count, rs, part.data());
      joined.insert(joined.end(), part.begin(), part.end());
      after = rs();
    }
    EXPECT_EQ(joined, whole) << "split at " << split;
    EXPECT_EQ(after, after_whole);
  }
}

}  // namespace
}  // namespace dcodec
