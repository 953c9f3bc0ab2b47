#include "eval/subprocess.h"

#include <gtest/gtest.h>

#include "base/file_io.h"

namespace dcodec::eval {
namespace {

TEST(TempDirTest, CreatesAndRemoves) {
  std::string path;
  {
    auto dir = TempDir::Create("dcodec-subprocess-test");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    path = dir->path();
    EXPECT_TRUE(FileExists(path));
    EXPECT_NE(path.find("dcodec-subprocess-test-"), std::string::npos);
    ASSERT_TRUE(WriteFileAtomic(dir->File("x.txt"), std::vector<uint8_t>{1, 2}, false).ok());
    TempDir moved = std::move(*dir);
    EXPECT_EQ(moved.path(), path);
  }
  EXPECT_FALSE(FileExists(path));
}

TEST(SubprocessTest, IsOnPath) {
  EXPECT_TRUE(IsOnPath("sh"));
  EXPECT_TRUE(IsOnPath("/bin/sh"));
  EXPECT_FALSE(IsOnPath("dcodec-no-such-tool"));
  EXPECT_FALSE(IsOnPath(""));
}

TEST(SubprocessTest, RunsAndReportsFailures) {
  auto dir = TempDir::Create("dcodec-subprocess-test");
  ASSERT_TRUE(dir.ok());
  EXPECT_TRUE(RunTool({"true"}, dir->path()).ok());

  Status s = RunTool({"sh", "-c", "echo first >&2; echo 'it went wrong' >&2; exit 3"}, dir->path());
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_EQ(s.message(), "sh failed (exit status 3): it went wrong");

  s = RunTool({"dcodec-no-such-tool", "x"}, dir->path());
  EXPECT_EQ(s.code(), StatusCode::kUnsupported);
  EXPECT_NE(s.message().find("dcodec-no-such-tool"), std::string::npos);
}

TEST(SubprocessTest, CapturesWhatTheToolPrints) {
  auto dir = TempDir::Create("dcodec-subprocess-test");
  ASSERT_TRUE(dir.ok());
  std::string out = "stale";
  ASSERT_TRUE(RunTool({"sh", "-c", "echo 1.25; echo noise >&2"}, dir->path(), &out).ok());
  EXPECT_EQ(out, "1.25\n");
  ASSERT_TRUE(RunTool({"true"}, dir->path(), &out).ok());
  EXPECT_EQ(out, "");
}

TEST(SubprocessTest, ArgumentsAreNotInterpretedByAShell) {
  auto dir = TempDir::Create("dcodec-subprocess-test");
  ASSERT_TRUE(dir.ok());
  std::string odd = dir->File("a b; touch pwned $(x)");
  ASSERT_TRUE(RunTool({"touch", odd}, dir->path()).ok());
  EXPECT_TRUE(FileExists(odd));
  EXPECT_FALSE(FileExists("pwned"));
}

}  // namespace
}  // namespace dcodec::eval
