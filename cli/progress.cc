#include "cli/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace dcodec::cli {

Progress::Progress(std::string what, bool quiet, std::string unit)
    : what_(std::move(what)),
      unit_(std::move(unit)),
      enabled_(!quiet && isatty(STDERR_FILENO)),
      start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() { Clear(); }

void Progress::Clear() {
  if (drawn_) std::fprintf(stderr, "\r%*s\r", 72, "");
  drawn_ = false;
}

void Progress::Print(const std::string& line) {
  Clear();
  std::fprintf(stderr, "%s\n", line.c_str());
}

void Progress::Update(int done, int total) {
  if (!enabled_ || total <= 0) return;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (seconds < 1.0) return;
  constexpr int kWidth = 30;
  const int filled = std::clamp(done * kWidth / total, 0, kWidth);
  std::fprintf(stderr, "\r%s [%s%s] %d/%d %s  %.0f s", what_.c_str(), std::string(filled, '#').c_str(),
               std::string(kWidth - filled, ' ').c_str(), done, total, unit_.c_str(), seconds);
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace dcodec::cli
