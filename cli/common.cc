#include <torch/torch.h>

#include <cstdlib>
#include <thread>

#include "base/file_io.h"
#include "cli/commands.h"

#ifndef DCODEC_SOURCE_DIR
#define DCODEC_SOURCE_DIR "."
#endif

namespace dcodec::cli {

std::string DefaultModelPath() {
  if (const char* env = std::getenv("DCODEC_MODEL")) return env;
  std::string in_tree = std::string(DCODEC_SOURCE_DIR) + "/models/photo.safetensors";
  if (FileExists(in_tree)) return in_tree;
  return "models/photo.safetensors";
}

int ResolveThreads(int threads) {
  return threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

void SetThreads(int threads) { at::set_num_threads(ResolveThreads(threads)); }

}  // namespace dcodec::cli
