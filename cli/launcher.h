// `dcodec train --nproc N`: starts N ranks of one data-parallel run on this machine, as torchrun would, for people
// without a launcher. Each child is this program with the same arguments (less --nproc, with --threads set per
// rank) and the environment RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR=127.0.0.1 and MASTER_PORT (kept when set,
// else a free port).
//
// Supervision: SIGINT/SIGTERM to the launcher are passed on (the ranks agree to checkpoint and stop). When a rank
// fails, the others get SIGTERM at once and SIGKILL after `grace_seconds`; the launcher returns the first failure,
// naming the rank and its exit code or signal. If the launcher itself is killed, the ranks get SIGTERM (they
// checkpoint and stop).
#ifndef DCODEC_CLI_LAUNCHER_H_
#define DCODEC_CLI_LAUNCHER_H_

#include <string>
#include <vector>

#include "base/status.h"

namespace dcodec::cli {

struct LaunchOptions {
  int nproc = 2;
  int threads_per_rank = 1;
  double grace_seconds = 30;
};

// `args`: the command line after the program name, --nproc already removed.
Status LaunchLocalRanks(std::vector<std::string> args, const LaunchOptions& options);

// Removes "--NAME VALUE" and "--NAME=VALUE" from args (every occurrence).
std::vector<std::string> WithoutOption(std::vector<std::string> args, const std::string& name);

}  // namespace dcodec::cli

#endif  // DCODEC_CLI_LAUNCHER_H_
