#include <torch/torch.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "base/file_io.h"
#include "cli/commands.h"

#ifndef DCODEC_SOURCE_DIR
#define DCODEC_SOURCE_DIR "."
#endif

namespace dcodec::cli {

namespace {
std::vector<std::string>& StoredCommandLine() {
  static std::vector<std::string> args;
  return args;
}
}  // namespace

void SetCommandLine(int argc, char** argv) { StoredCommandLine().assign(argv + 1, argv + argc); }
const std::vector<std::string>& CommandLine() { return StoredCommandLine(); }

std::string DefaultModelPath() {
  if (const char* env = std::getenv("DCODEC_MODEL")) return env;
  std::string in_tree = std::string(DCODEC_SOURCE_DIR) + "/models/photo.safetensors";
  if (FileExists(in_tree)) return in_tree;
  return "models/photo.safetensors";
}

bool IsStdio(const std::string& path) { return path == "-"; }
std::string InputName(const std::string& path) { return IsStdio(path) ? "<stdin>" : path; }
std::string OutputName(const std::string& path) { return IsStdio(path) ? "<stdout>" : path; }

StatusOr<std::vector<uint8_t>> ReadInputBytes(const std::string& path) {
  if (!IsStdio(path)) return ReadFileBytes(path);
  std::vector<uint8_t> bytes;
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), stdin)) > 0) {
    bytes.insert(bytes.end(), buf, buf + n);
    if (bytes.size() > kDefaultMaxReadBytes) {
      return InvalidInput("<stdin>: more than " + std::to_string(kDefaultMaxReadBytes >> 20) +
                          " MiB, more than any input this build reads");
    }
  }
  if (std::ferror(stdin)) return IoError(std::string("<stdin>: read failed: ") + std::strerror(errno));
  return bytes;
}

Status WriteOutputBytes(const std::string& path, const std::vector<uint8_t>& bytes, bool overwrite) {
  if (!IsStdio(path)) return WriteFileAtomic(path, bytes, overwrite);
  if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size() || std::fflush(stdout) != 0) {
    return IoError(std::string("<stdout>: write failed: ") + std::strerror(errno));
  }
  return Status::Ok();
}

int ResolveThreads(int threads) {
  return threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void SetThreads(int threads) { at::set_num_threads(ResolveThreads(threads)); }

CLI::Validator FiniteNumber(double lo, double hi) {
  const std::string range = "a number in (" + CLI::detail::to_string(lo) + ", " + CLI::detail::to_string(hi) + "]";
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || end == nullptr || *end != '\0' || errno == ERANGE || !std::isfinite(v) || !(v > lo) ||
            !(v <= hi)) {
          return "'" + text + "' is not " + range;
        }
        return "";
      },
      range);
}

CLI::Validator WholeNumber(uint64_t lo, uint64_t hi) {
  const std::string range = "a whole number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        bool digits = !text.empty() && text.size() <= 20;
        for (char c : text) digits = digits && c >= '0' && c <= '9';
        errno = 0;
        const unsigned long long v = digits ? std::strtoull(text.c_str(), nullptr, 10) : 0;
        if (!digits || errno == ERANGE || v < lo || v > hi) return "'" + text + "' is not " + range;
        return "";
      },
      range);
}

}  // namespace dcodec::cli
