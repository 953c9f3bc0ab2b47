#include "cli/launcher.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "cli/exit_codes.h"
#include "model/distributed.h"

namespace dcodec::cli {
namespace {

std::atomic<int> g_signal{0};
void OnSignal(int sig) { g_signal = sig; }

std::string Describe(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + strsignal(WTERMSIG(status));
  return "stopped";
}

// The status class a rank's exit code stands for (ExitCodeFor backwards), so the launcher exits as the rank did.
StatusCode CodeForExit(int exit_code) {
  switch (exit_code) {
    case kExitUsage: return StatusCode::kInvalidArgument;
    case kExitIo: return StatusCode::kIoError;
    case kExitInvalidInput: return StatusCode::kInvalidInput;
    case kExitCorrupt: return StatusCode::kCorrupt;
    case kExitUnsupported: return StatusCode::kUnsupported;
    case kExitPeerFailed: return StatusCode::kUnavailable;
    default: return StatusCode::kInternal;
  }
}

}  // namespace

std::vector<std::string> WithoutOption(std::vector<std::string> args, const std::string& name) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == name) {
      ++i;  // and its value
      continue;
    }
    if (args[i].rfind(name + "=", 0) == 0) continue;
    out.push_back(args[i]);
  }
  return out;
}

Status LaunchLocalRanks(std::vector<std::string> args, const LaunchOptions& options) {
  if (options.nproc < 1) return InvalidArgument("--nproc must be at least 1");
  if (std::getenv("WORLD_SIZE") != nullptr) {
    return InvalidArgument("--nproc: WORLD_SIZE is already set (a launcher started this process); drop --nproc");
  }
  args = WithoutOption(std::move(args), "--threads");
  args.push_back("--threads");
  args.push_back(std::to_string(options.threads_per_rank));
  const char* env_port = std::getenv("MASTER_PORT");
  const std::string port = env_port != nullptr && *env_port != '\0' ? env_port : std::to_string(model::PickFreePort());

  g_signal = 0;
  struct sigaction action {}, old_int{}, old_term{};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);

  std::vector<pid_t> pids;
  for (int rank = 0; rank < options.nproc; ++rank) {
    pid_t pid = ::fork();
    if (pid < 0) break;
    if (pid == 0) {
      // A launcher killed outright (SIGKILL) cannot stop its ranks: they get SIGTERM from the kernel instead.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      ::setenv("RANK", std::to_string(rank).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(options.nproc).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(options.nproc).c_str(), 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", port.c_str(), 1);
      ::setenv("OMP_NUM_THREADS", std::to_string(options.threads_per_rank).c_str(), 1);
      std::vector<char*> argv;
      static char self[] = "/proc/self/exe";
      argv.push_back(self);
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(self, argv.data());
      std::fprintf(stderr, "dcodec train: rank %d: cannot start /proc/self/exe: %s\n", rank, std::strerror(errno));
      _exit(kExitInternal);
    }
    pids.push_back(pid);
  }
  Status result;
  if (static_cast<int>(pids.size()) < options.nproc) {
    result = Internal("--nproc: could not start rank " + std::to_string(pids.size()) + ": " + std::strerror(errno));
    for (pid_t p : pids) ::kill(p, SIGTERM);
  }

  using Clock = std::chrono::steady_clock;
  std::vector<bool> running(pids.size(), true);
  auto signal_running = [&](int sig) {
    for (size_t r = 0; r < pids.size(); ++r) {
      if (running[r]) ::kill(pids[r], sig);
    }
  };
  size_t alive = pids.size();
  bool forwarded = false;
  bool terminating = !result.ok();
  auto terminate_at = Clock::now();
  while (alive > 0) {
    int status = 0;
    pid_t done = ::waitpid(-1, &status, WNOHANG);
    if (done > 0) {
      for (size_t r = 0; r < pids.size(); ++r) {
        if (pids[r] != done || !running[r]) continue;
        running[r] = false;
        --alive;
        const bool failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        if (failed && result.ok()) {
          StatusCode code = WIFEXITED(status) ? CodeForExit(WEXITSTATUS(status)) : StatusCode::kUnavailable;
          result = Status(code, "rank " + std::to_string(r) + " of " + std::to_string(pids.size()) + " " +
                                    Describe(status) + "; stopping the other ranks");
        }
        if (failed && !terminating) {
          terminating = true;
          terminate_at = Clock::now();
          signal_running(SIGTERM);
        }
      }
      continue;
    }
    if (g_signal != 0 && !forwarded) {  // pass the stop request on; the ranks checkpoint and exit 0
      forwarded = true;
      signal_running(SIGTERM);
    }
    if (terminating && std::chrono::duration<double>(Clock::now() - terminate_at).count() > options.grace_seconds) {
      signal_running(SIGKILL);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return result;
}

}  // namespace dcodec::cli
