// A one-line progress bar on stderr for encodes and decodes: drawn only on a terminal, only once the work has
// taken more than a second, never with --quiet; the line is cleared when the work ends.
#ifndef DCODEC_CLI_PROGRESS_H_
#define DCODEC_CLI_PROGRESS_H_

#include <chrono>
#include <string>

namespace dcodec::cli {

class Progress {
 public:
  Progress(std::string what, bool quiet);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void Update(int done, int total);

 private:
  std::string what_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace dcodec::cli

#endif  // DCODEC_CLI_PROGRESS_H_
