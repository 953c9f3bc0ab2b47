// Several files in one call (`dcodec encode a.png b.jpg --out-dir DIR`, and decode likewise): the output names, the
// files run in parallel within the thread budget, and one error that names every file that failed.
#ifndef DCODEC_CLI_BATCH_H_
#define DCODEC_CLI_BATCH_H_

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"

namespace dcodec::cli {

// DIR/NAME.EXT for each input (NAME: the input's file name less its last extension). kInvalidArgument for "-"
// among the inputs, or two inputs that would write the same output (both named). Creates DIR if it is missing.
StatusOr<std::vector<std::string>> BatchOutputs(const std::vector<std::string>& inputs, const std::string& dir,
                                                const std::string& ext);

// How `threads` are shared by `files` files: min(threads, files) at once, each with threads / that many.
struct BatchPlan {
  int parallel_files = 1;
  int threads_per_file = 1;
};
BatchPlan PlanBatch(int threads, size_t files);

// Runs job(i) for every i < n, plan.parallel_files at a time, in order as workers free up, and keeps going past
// failures; done(i, status) is called once per file as it ends, one call at a time. Returns each file's status.
std::vector<Status> RunBatch(size_t n, const BatchPlan& plan, const std::function<Status(size_t)>& job,
                             const std::function<void(size_t, const Status&)>& done);

// Ok if every file succeeded; else the first failure's code, with a message naming every failed file
// ("2 of 5 files failed: a.png, c.jpg").
Status BatchStatus(const std::vector<std::string>& inputs, const std::vector<Status>& results);

// The whole batch: job(i, threads, &report) for every input under PlanBatch(threads, n), one progress bar
// ("encoding [###   ] 3/5 files", with --quiet none), and as each file ends its report as "IN -> OUT: report", or
// "dcodec COMMAND: error" and the report; returns BatchStatus.
Status RunFiles(const std::string& command, const std::string& progress_label, const std::vector<std::string>& inputs,
                const std::vector<std::string>& outputs, int threads, bool quiet,
                const std::function<Status(size_t, int, std::string*)>& job);

}  // namespace dcodec::cli

#endif  // DCODEC_CLI_BATCH_H_
