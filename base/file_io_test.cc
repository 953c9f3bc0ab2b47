#include "base/file_io.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

namespace dcodec {
namespace {

std::string TempPath(const char* name) {
  return std::string(::testing::TempDir()) + "/" + name + std::to_string(::getpid());
}

TEST(FileIoTest, AtomicWriteRoundtripAndNoClobber) {
  std::string path = TempPath("fileio");
  std::remove(path.c_str());
  std::vector<uint8_t> a = {1, 2, 3}, b = {9};
  ASSERT_TRUE(WriteFileAtomic(path, a, false).ok());
  auto read = ReadFileBytes(path);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, a);
  // Without overwrite the existing file stays as it was.
  Status s = WriteFileAtomic(path, b, false);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*ReadFileBytes(path), a);
  ASSERT_TRUE(WriteFileAtomic(path, b, true).ok());
  EXPECT_EQ(*ReadFileBytes(path), b);
  std::remove(path.c_str());
}

TEST(FileIoTest, FailedWriteLeavesNothing) {
  std::string path = "/nonexistent_dir_dcodec/x.bin";
  Status s = WriteFileAtomic(path, std::vector<uint8_t>{1}, true);
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find("/nonexistent_dir_dcodec/x.bin"), std::string::npos);
  EXPECT_FALSE(FileExists(path));
}

TEST(FileIoTest, MakeDirectoryMakesOneLevelOrFindsIt) {
  const std::string dir = TempPath("dir");
  ASSERT_TRUE(MakeDirectory(dir).ok());
  EXPECT_TRUE(MakeDirectory(dir).ok());  // already there
  const std::string file = dir + "/file";
  ASSERT_TRUE(WriteFileAtomic(file, std::vector<uint8_t>{1}, false).ok());
  Status not_dir = MakeDirectory(file);
  EXPECT_EQ(not_dir.code(), StatusCode::kIoError);
  EXPECT_NE(not_dir.message().find(file + ": is not a directory"), std::string::npos);
  Status deep = MakeDirectory(dir + "/a/b");
  EXPECT_EQ(deep.code(), StatusCode::kIoError);
  EXPECT_NE(deep.message().find("cannot create the directory"), std::string::npos);
  std::remove(file.c_str());
  ::rmdir(dir.c_str());
}

TEST(FileIoTest, MissingFileNamed) {
  auto r = ReadFileBytes("/no/such/file.png");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/no/such/file.png"), std::string::npos);
}

}  // namespace
}  // namespace dcodec
