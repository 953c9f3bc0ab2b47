#include "cli/batch.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "base/file_io.h"
#include "cli/progress.h"

namespace dcodec::cli {

StatusOr<std::vector<std::string>> BatchOutputs(const std::vector<std::string>& inputs, const std::string& dir,
                                                const std::string& ext) {
  std::vector<std::string> outputs;
  std::map<std::string, std::string> seen;  // output -> the input that writes it
  for (const std::string& in : inputs) {
    if (in == "-") return InvalidArgument("--out-dir: standard input (-) has no file name to write under DIR");
    const size_t slash = in.find_last_of('/');
    std::string name = slash == std::string::npos ? in : in.substr(slash + 1);
    const size_t dot = name.find_last_of('.');
    if (dot != std::string::npos && dot > 0) name.resize(dot);
    if (name.empty()) return InvalidArgument(in + ": no file name to write under --out-dir");
    std::string out = dir + "/" + name + "." + ext;
    auto [it, fresh] = seen.emplace(out, in);
    if (!fresh) return InvalidArgument(it->second + " and " + in + " would both write " + out);
    outputs.push_back(std::move(out));
  }
  DCODEC_RETURN_IF_ERROR(MakeDirectory(dir));
  return outputs;
}

BatchPlan PlanBatch(int threads, size_t files) {
  BatchPlan plan;
  threads = std::max(1, threads);
  plan.parallel_files = static_cast<int>(std::max<size_t>(1, std::min<size_t>(threads, files)));
  plan.threads_per_file = std::max(1, threads / plan.parallel_files);
  return plan;
}

std::vector<Status> RunBatch(size_t n, const BatchPlan& plan, const std::function<Status(size_t)>& job,
                             const std::function<void(size_t, const Status&)>& done) {
  std::vector<Status> results(n);
  std::atomic<size_t> next{0};
  std::mutex done_mutex;
  auto worker = [&] {
    for (size_t i = next++; i < n; i = next++) {
      Status s;
      try {
        s = job(i);
      } catch (const std::exception& e) {
        s = Internal(e.what());
      }
      results[i] = s;
      std::lock_guard<std::mutex> lock(done_mutex);
      done(i, s);
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < plan.parallel_files; ++w) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
  return results;
}

Status BatchStatus(const std::vector<std::string>& inputs, const std::vector<Status>& results) {
  std::string failed;
  size_t count = 0;
  StatusCode code = StatusCode::kOk;
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].ok()) continue;
    if (count++ == 0) code = results[i].code();
    failed += (failed.empty() ? "" : ", ") + inputs[i];
  }
  if (count == 0) return Status::Ok();
  return Status(code, std::to_string(count) + " of " + std::to_string(results.size()) + " files failed: " + failed);
}

Status RunFiles(const std::string& command, const std::string& progress_label, const std::vector<std::string>& inputs,
                const std::vector<std::string>& outputs, int threads, bool quiet,
                const std::function<Status(size_t, int, std::string*)>& job) {
  const size_t n = inputs.size();
  const BatchPlan plan = PlanBatch(threads, n);
  Progress progress(progress_label, quiet, "files");
  size_t finished = 0;
  std::vector<std::string> reports(n);
  const std::vector<Status> results = RunBatch(
      n, plan, [&](size_t i) { return job(i, plan.threads_per_file, &reports[i]); },
      [&](size_t i, const Status& s) {
        ++finished;
        std::string text = reports[i];
        if (!text.empty() && text.back() == '\n') text.pop_back();
        if (!s.ok()) {
          progress.Print("dcodec " + command + ": " + s.ToString() + (text.empty() ? "" : "\n" + text));
        } else if (!text.empty()) {
          progress.Print(inputs[i] + " -> " + outputs[i] + ": " + text);
        }
        progress.Update(static_cast<int>(finished), static_cast<int>(n));
      });
  return BatchStatus(inputs, results);
}

}  // namespace dcodec::cli
