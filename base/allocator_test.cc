#include "base/allocator.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>  // defines __GLIBC__ on glibc
#include <vector>

namespace dcodec {
namespace {

long MinorFaults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

constexpr size_t kBlockMiB[] = {10, 10, 20, 10, 30, 10};
constexpr long kPagesPerRound = (10 + 10 + 20 + 10 + 30 + 10) << 8;

// Like one network tile: allocates and touches blocks that are alive together, then frees them all; returns the
// page faults that took.
long FaultsOfOneRound() {
  const long before = MinorFaults();
  std::vector<volatile char*> live;
  for (size_t mib : kBlockMiB) {
    const size_t bytes = mib << 20;
    auto* p = static_cast<volatile char*>(std::malloc(bytes));
    for (size_t i = 0; i < bytes; i += 4096) p[i] = static_cast<char>(i);
    live.push_back(p);
  }
  for (volatile char* p : live) std::free(const_cast<char*>(p));
  return MinorFaults() - before;
}

TEST(AllocatorTest, FreedLargeBlocksAreReusedWithoutPageFaults) {
#if !defined(__GLIBC__)
  GTEST_SKIP() << "only glibc is tuned";
#else
  ASSERT_TRUE(ReuseFreedMemory());
  FaultsOfOneRound();  // the first rounds map the memory
  FaultsOfOneRound();
  // With glibc's defaults every block is a fresh mmap: every page faults again in every round (measured: 23,008
  // of 23,040).
  EXPECT_LT(FaultsOfOneRound(), kPagesPerRound / 20);
#endif
}

}  // namespace
}  // namespace dcodec
