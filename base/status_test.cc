#include "base/status.h"

#include <gtest/gtest.h>

namespace dcodec {
namespace {

StatusOr<int> Half(int x) {
  if (x % 2) return InvalidArgument("odd: " + std::to_string(x));
  return x / 2;
}

Status UsesMacros(int x, int* out) {
  DCODEC_ASSIGN_OR_RETURN(int h, Half(x));
  DCODEC_ASSIGN_OR_RETURN(*out, Half(h));
  return Status::Ok();
}

TEST(StatusTest, OkAndErrors) {
  EXPECT_TRUE(Status::Ok().ok());
  Status s = Corrupt("bad crc").Prefixed("a.dcd");
  EXPECT_EQ(s.code(), StatusCode::kCorrupt);
  EXPECT_EQ(s.message(), "a.dcd: bad crc");
  EXPECT_EQ(s.ToString(), "corrupt: a.dcd: bad crc");
}

TEST(StatusTest, MacrosPropagate) {
  int out = -1;
  EXPECT_TRUE(UsesMacros(8, &out).ok());
  EXPECT_EQ(out, 2);
  Status s = UsesMacros(6, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "odd: 3");
}

}  // namespace
}  // namespace dcodec
