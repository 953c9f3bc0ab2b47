// A one-line progress bar on stderr for encodes and decodes: drawn only on a terminal, only once the work has
// taken more than a second, never with --quiet; the line is cleared when the work ends.
#ifndef DCODEC_CLI_PROGRESS_H_
#define DCODEC_CLI_PROGRESS_H_

#include <chrono>
#include <string>

namespace dcodec::cli {

class Progress {
 public:
  // unit: what done/total count ("stages", "files").
  Progress(std::string what, bool quiet, std::string unit = "stages");
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void Update(int done, int total);
  // Writes a message line to stderr below the bar (cleared first; the next Update draws it again).
  void Print(const std::string& line);

 private:
  void Clear();

  std::string what_, unit_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace dcodec::cli

#endif  // DCODEC_CLI_PROGRESS_H_
