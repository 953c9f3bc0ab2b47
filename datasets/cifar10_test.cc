#include "datasets/cifar10.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

#include "base/file_io.h"

namespace dcodec {
namespace {

TEST(Cifar10Test, LoadsRecordsAndSplitsHoldout) {
  std::string dir = ::testing::TempDir() + "/cifar" + std::to_string(::getpid());
  ASSERT_EQ(system(("mkdir -p " + dir).c_str()), 0);
  std::vector<uint8_t> bytes;
  for (int i = 0; i < 20; ++i) {
    bytes.push_back(i % 10);
    for (int j = 0; j < 3072; ++j) bytes.push_back((i + j) & 255);
  }
  ASSERT_TRUE(WriteFileAtomic(dir + "/data_batch_1.bin", bytes, true).ok());
  auto all = LoadCifar10(dir);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->count(), 20);
  Image im = all->ToImage(3);
  EXPECT_EQ(im.at(1, 0, 0), 4);      // R plane, pixel 1
  EXPECT_EQ(im.at(0, 0, 1), (3 + 1024) & 255);  // G plane, pixel 0
  auto train = SelectSplit(*all, CifarSplit::kTrain);
  auto hold = SelectSplit(*all, CifarSplit::kHoldout);
  EXPECT_EQ(train.count() + hold.count(), 20);
  EXPECT_EQ(hold.count(), 2);
  EXPECT_EQ(hold.labels[0], 18 % 10);

  bytes.pop_back();
  ASSERT_TRUE(WriteFileAtomic(dir + "/data_batch_2.bin", bytes, true).ok());
  auto bad = LoadCifar10(dir);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(bad.status().message().find("data_batch_2.bin"), std::string::npos);
  EXPECT_FALSE(LoadCifar10("/no/such/dir").ok());
}

}  // namespace
}  // namespace dcodec
