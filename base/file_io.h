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

StatusOr<std::vector<uint8_t>> ReadFileBytes(const std::string& path);

// Fails with kInvalidArgument if `path` exists and !overwrite.
Status WriteFileAtomic(const std::string& path, const uint8_t* data, size_t size, bool overwrite);
inline Status WriteFileAtomic(const std::string& path, const std::vector<uint8_t>& data, bool overwrite) {
  return WriteFileAtomic(path, data.data(), data.size(), overwrite);
}

bool FileExists(const std::string& path);

}  // namespace dcodec

#endif  // DCODEC_BASE_FILE_IO_H_
