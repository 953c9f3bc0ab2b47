// Data-parallel `dcodec train` as processes on loopback: W ranks with a slice of the batch each take the steps one
// process takes with the whole batch, a checkpoint written by 2 ranks resumes on 1, and a rank that dies or hangs
// ends the run with an error instead of a hang. Small random images, the tiny UNet, a few steps.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "base/file_io.h"
#include "datasets/png.h"
#include "model/distributed.h"
#include "model/model_file.h"

#include <torch/torch.h>

namespace dcodec {
namespace {

using Clock = std::chrono::steady_clock;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class DistributedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/dist" + std::to_string(::getpid()) + "_" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_EQ(std::system(("rm -rf '" + dir_ + "' && mkdir -p '" + dir_ + "/imgs'").c_str()), 0);
    std::mt19937 rng(3);
    for (int i = 0; i < 3; ++i) {
      Image image(24 + 4 * i, 20, 3);
      for (auto& v : image.data) v = rng() & 255;
      ASSERT_TRUE(WritePng(dir_ + "/imgs/" + std::to_string(i) + ".png", image, true).ok());
    }
  }

  // A tiny run: batch 6, of which a quarter (2 images) is drawn from the coding chain, so with 2 ranks one rank
  // holds both kinds of image.
  std::vector<std::string> TrainArgs(const std::string& run, int steps, uint64_t seed = 9, int checkpoint_every = 2) {
    return {"train", "--data", "images:" + dir_ + "/imgs", "--crop", "16", "--max-downscale", "1.2", "--preset",
            "tiny", "--batch", "6", "--steps", std::to_string(steps), "--warmup", "2", "--lr", "1e-3",
            "--checkpoint-every", std::to_string(checkpoint_every), "--seed", std::to_string(seed), "--chain", "400,100", "--chain-fraction",
            "0.25", "--run", dir_ + "/" + run, "--quiet"};
  }

  // Starts dcodec with `args` and extra environment; stdout and stderr go to files named after `tag`.
  pid_t Spawn(const std::vector<std::string>& args, const std::vector<std::pair<std::string, std::string>>& env,
              const std::string& tag) {
    const std::string out = dir_ + "/" + tag + ".out", err = dir_ + "/" + tag + ".err";
    std::fflush(stdout);  // or the child's freopen writes our buffered output a second time
    std::fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
      if (!std::freopen(out.c_str(), "w", stdout) || !std::freopen(err.c_str(), "w", stderr)) _exit(127);
      ::setenv("OMP_NUM_THREADS", "1", 1);
      for (const char* v : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"}) ::unsetenv(v);
      for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
      std::vector<char*> argv{const_cast<char*>(DCODEC_BIN)};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(DCODEC_BIN, argv.data());
      _exit(127);
    }
    return pid;
  }

  // Waits for `pid` up to `seconds`; the exit code (128 + signal when killed), or -1 on timeout.
  static int Wait(pid_t pid, double seconds) {
    auto start = Clock::now();
    while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

  int Run(const std::vector<std::string>& args, const std::string& tag = "run") {
    int code = Wait(Spawn(args, {}, tag), 300);
    EXPECT_EQ(code, 0) << Slurp(dir_ + "/" + tag + ".err");
    return code;
  }

  bool WaitForFile(const std::string& path, double seconds) {
    auto start = Clock::now();
    while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
      if (FileExists(path)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  // The processes `parent` started (a --nproc launcher's ranks, rank 0 first).
  static std::vector<pid_t> Children(pid_t parent) {
    std::istringstream in(Slurp("/proc/" + std::to_string(parent) + "/task/" + std::to_string(parent) + "/children"));
    std::vector<pid_t> pids;
    for (pid_t p; in >> p;) pids.push_back(p);
    return pids;
  }

  nlohmann::json Checkpoint(const std::string& run) {
    return nlohmann::json::parse(Slurp(dir_ + "/" + run + "/checkpoint.json"), nullptr, false);
  }

  // Largest |difference| between the two runs' model files, over every parameter.
  double MaxWeightDifference(const std::string& run_a, const std::string& run_b) {
    auto a = model::LoadModel(dir_ + "/" + run_a + "/model.safetensors");
    auto b = model::LoadModel(dir_ + "/" + run_b + "/model.safetensors");
    EXPECT_TRUE(a.ok() && b.ok());
    if (!a.ok() || !b.ok()) return 1e9;
    auto pa = a->net->parameters(), pb = b->net->parameters();
    double worst = 0;
    for (size_t i = 0; i < pa.size(); ++i) worst = std::max(worst, (pa[i] - pb[i]).abs().max().item<double>());
    return worst;
  }

  std::string dir_;
};

// Summing gradients in another order changes their last bits, and Adam can turn a gradient that is itself rounding
// noise into a step of up to lr; measured here: at most 7e-8 after 4 steps, against 0.7 for another seed.
constexpr double kSameSteps = 1e-5;

TEST_F(DistributedTest, TwoRanksTakeTheStepsOfOneWithTheWholeBatch) {
  Run(TrainArgs("one", 4));
  auto two = TrainArgs("two", 4);
  two.insert(two.end(), {"--nproc", "2"});
  Run(two, "two");
  const double same = MaxWeightDifference("one", "two");
  std::printf("largest weight difference, 1 rank x 6 against 2 ranks x 3: %.3g\n", same);
  EXPECT_LT(same, kSameSteps);
  auto a = Checkpoint("one"), b = Checkpoint("two");
  EXPECT_NEAR(a["loss"].get<double>(), b["loss"].get<double>(), 1e-5);
  EXPECT_EQ(a["world_size"], 1);
  EXPECT_EQ(b["world_size"], 2);
  EXPECT_EQ(b["global_batch"], 6);
  // The comparison can fail: another seed is far away.
  Run(TrainArgs("other", 4, 10), "other");
  const double other = MaxWeightDifference("one", "other");
  std::printf("largest weight difference to another seed: %.3g\n", other);
  EXPECT_GT(other, 10 * kSameSteps);
}

// The same with the scale head's coded-rate loss and continuous-time L_simple: rank 0 holds no chain image, yet
// draws the chain's dither for the whole batch as rank 1 and the single process do.
TEST_F(DistributedTest, TwoRanksWithScaleHeadAndContinuousTimeTakeTheStepsOfOne) {
  auto one = TrainArgs("head_one", 4);
  one.insert(one.end(), {"--scale-head", "--continuous-time"});
  Run(one, "head_one");
  auto two = one;
  two[two.size() - 4] = dir_ + "/head_two";  // --run
  ASSERT_EQ(two[two.size() - 5], "--run");
  two.insert(two.end(), {"--nproc", "2"});
  Run(two, "head_two");
  const double same = MaxWeightDifference("head_one", "head_two");
  std::printf("largest weight difference with the scale head, 1 rank against 2: %.3g\n", same);
  EXPECT_LT(same, kSameSteps);
}

TEST_F(DistributedTest, CheckpointFromTwoRanksResumesOnOne) {
  Run(TrainArgs("straight", 4));
  auto two = TrainArgs("split", 2);
  two.insert(two.end(), {"--nproc", "2"});
  Run(two, "two");
  EXPECT_EQ(Checkpoint("split")["step"], 2);
  auto resume = TrainArgs("split", 4);
  resume.push_back("--resume");
  Run(resume, "resume");
  EXPECT_EQ(Checkpoint("split")["step"], 4);
  EXPECT_EQ(Checkpoint("split")["world_size"], 1);
  const double resumed = MaxWeightDifference("straight", "split");
  std::printf("largest weight difference, 4 steps on 1 rank against 2 on 2 ranks + 2 resumed on 1: %.3g\n", resumed);
  EXPECT_LT(resumed, kSameSteps);
}

// Two ranks started by hand, as torchrun would; rank 1 is killed, or stopped (hung), once training is under way.
TEST_F(DistributedTest, ARankThatDiesOrHangsEndsTheRunWithAnError) {
  for (int fault : {SIGKILL, SIGSTOP}) {
    const std::string run = fault == SIGKILL ? "killed" : "hung";
    const double timeout = 4;
    auto args = TrainArgs(run, 1000000, 9, 1);
    args.insert(args.end(), {"--dist-timeout", std::to_string(timeout), "--threads", "1"});
    const std::string p = std::to_string(model::PickFreePort());
    pid_t r0 = Spawn(args, {{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", p}}, run + "0");
    pid_t r1 = Spawn(args, {{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", p}}, run + "1");
    ASSERT_TRUE(WaitForFile(dir_ + "/" + run + "/checkpoint.json", 60)) << Slurp(dir_ + "/" + run + "0.err");
    ASSERT_EQ(::kill(r1, fault), 0);
    auto start = Clock::now();
    const int code = Wait(r0, 60);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    ::kill(r1, SIGKILL);
    Wait(r1, 10);
    const std::string err = Slurp(dir_ + "/" + run + "0.err");
    EXPECT_EQ(code, 9) << err;  // kExitPeerFailed
    EXPECT_NE(err.find("rank 0 of 2"), std::string::npos) << err;
    // A dead peer is seen at once; a hung one after the timeout.
    EXPECT_LT(seconds, fault == SIGKILL ? 10.0 : timeout + 10.0) << err;
  }
}

TEST_F(DistributedTest, LauncherStopsTheOtherRanksWhenOneFails) {
  auto args = TrainArgs("launched", 1000000, 9, 1);
  args.insert(args.end(), {"--nproc", "2", "--dist-timeout", "20"});
  pid_t launcher = Spawn(args, {}, "launcher");
  ASSERT_TRUE(WaitForFile(dir_ + "/launched/checkpoint.json", 60)) << Slurp(dir_ + "/launcher.err");
  const std::vector<pid_t> ranks = Children(launcher);
  ASSERT_EQ(ranks.size(), 2u);
  ASSERT_EQ(::kill(ranks[1], SIGKILL), 0);
  const int code = Wait(launcher, 60);
  const std::string err = Slurp(dir_ + "/launcher.err");
  EXPECT_NE(code, 0) << err;
  EXPECT_NE(code, -1) << "the launcher did not stop";
  EXPECT_NE(err.find("rank 1 of 2 was killed"), std::string::npos) << err;
  EXPECT_NE(::kill(ranks[0], 0), 0) << "rank 0 still runs";
}

TEST_F(DistributedTest, SigtermToTheLauncherCheckpointsAndStops) {
  auto args = TrainArgs("stopped", 1000000, 9, 1000);
  args.insert(args.end(), {"--checkpoint-seconds", "0.2", "--nproc", "2"});
  pid_t launcher = Spawn(args, {}, "launcher");
  ASSERT_TRUE(WaitForFile(dir_ + "/stopped/checkpoint.json", 60)) << Slurp(dir_ + "/launcher.err");
  ASSERT_EQ(::kill(launcher, SIGTERM), 0);
  EXPECT_EQ(Wait(launcher, 60), 0) << Slurp(dir_ + "/launcher.err");
  auto meta = Checkpoint("stopped");
  EXPECT_GT(meta["step"].get<int64_t>(), 0);
  EXPECT_LT(meta["step"].get<int64_t>(), 1000000);
  EXPECT_EQ(meta["world_size"], 2);
}

// A launcher killed outright leaves no orphans training on: its ranks get SIGTERM, checkpoint and exit.
TEST_F(DistributedTest, RanksStopWhenTheLauncherIsKilled) {
  auto args = TrainArgs("orphans", 1000000, 9, 1000);
  args.insert(args.end(), {"--checkpoint-seconds", "0.2", "--nproc", "2"});
  pid_t launcher = Spawn(args, {}, "launcher");
  ASSERT_TRUE(WaitForFile(dir_ + "/orphans/checkpoint.json", 60)) << Slurp(dir_ + "/launcher.err");
  const std::vector<pid_t> ranks = Children(launcher);
  ASSERT_EQ(ranks.size(), 2u);
  ASSERT_EQ(::kill(launcher, SIGKILL), 0);
  Wait(launcher, 10);
  auto gone = [](pid_t p) {
    // Gone, or a zombie waiting for its new parent to reap it.
    std::ifstream stat("/proc/" + std::to_string(p) + "/stat");
    std::string pid, name, state;
    return !(stat >> pid >> name >> state) || state == "Z";
  };
  auto start = Clock::now();
  while ((!gone(ranks[0]) || !gone(ranks[1])) && std::chrono::duration<double>(Clock::now() - start).count() < 60) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(gone(ranks[0]) && gone(ranks[1])) << "ranks still train after their launcher was killed";
}

}  // namespace
}  // namespace dcodec
