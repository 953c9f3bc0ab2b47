// Whole-file reads and atomic whole-file writes.
//
// WriteFileAtomic writes to a temporary name beside the target and renames it over the target only once every byte
// is on disk, so a failed or interrupted run never leaves a half-written file, and an existing file is replaced
// only when the caller allows it.
#ifndef DCODEC_BASE_FILE_IO_H_
#define DCODEC_BASE_FILE_IO_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace dcodec {

// Reads at most `max_bytes` (a larger file or an endless device such as /dev/zero is refused with kInvalidInput,
// naming the limit, before more than max_bytes + 64 KiB are held in memory).
constexpr size_t kDefaultMaxReadBytes = size_t{256} << 20;  // a 2^24-pixel image of noise is ~60 MiB
StatusOr<std::vector<uint8_t>> ReadFileBytes(const std::string& path, size_t max_bytes = kDefaultMaxReadBytes);

// Fails with kInvalidArgument if `path` exists and !overwrite. A replaced file keeps its permission bits.
Status WriteFileAtomic(const std::string& path, const uint8_t* data, size_t size, bool overwrite);
inline Status WriteFileAtomic(const std::string& path, const std::vector<uint8_t>& data, bool overwrite) {
  return WriteFileAtomic(path, data.data(), data.size(), overwrite);
}

bool FileExists(const std::string& path);
// Makes the directory `path` (one level) unless it is one already; kIoError naming it when it cannot, or when
// `path` is something else.
Status MakeDirectory(const std::string& path);
// Both paths name the same existing file (the same device and inode), whatever the spelling.
bool SameFile(const std::string& a, const std::string& b);

}  // namespace dcodec

#endif  // DCODEC_BASE_FILE_IO_H_
