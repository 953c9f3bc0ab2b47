// Running external command-line tools (the classic codecs, gnuplot) safely: no shell, a private temp directory.
//
// RunTool starts argv[0] (looked up on PATH) with posix_spawnp, so paths are passed as separate arguments and never
// interpreted by a shell. The tool's stdin and stdout are /dev/null; its stderr goes to a file in the scratch
// directory given, and its last line is quoted in the error when the tool fails, so a failure names the tool, its
// exit status and what it said.
#ifndef DCODEC_EVAL_SUBPROCESS_H_
#define DCODEC_EVAL_SUBPROCESS_H_

#include <string>
#include <vector>

#include "base/status.h"

namespace dcodec::eval {

// A directory made with mkdtemp under $TMPDIR (or /tmp), removed with everything directly inside it when the
// object is destroyed. Files only: the tools never make subdirectories here.
class TempDir {
 public:
  // `prefix` names the directory ("dcodec-jpeg-XXXXXX"), which helps when one is left by a crash.
  static StatusOr<TempDir> Create(const std::string& prefix);
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  void Remove();
  std::string path_;
};

// True if `program` names an executable file in one of the PATH directories (or, if it has a '/', is one).
bool IsOnPath(const std::string& program);

// Runs argv (argv[0] is looked up on PATH) and waits for it. OK only if it exits with status 0. Errors:
// kUnsupported if the program is not on PATH; kInternal if it cannot be started, is killed by a signal or exits
// non-zero ("cjpeg failed (exit status 1): <its last stderr line>"). `scratch_dir` receives the stderr capture
// (and the stdout capture when `out` is given: then *out holds what the tool printed, at most 1 MiB).
Status RunTool(const std::vector<std::string>& argv, const std::string& scratch_dir, std::string* out = nullptr);

}  // namespace dcodec::eval

#endif  // DCODEC_EVAL_SUBPROCESS_H_
