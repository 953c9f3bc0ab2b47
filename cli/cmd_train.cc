// dcodec train: Algorithm 1 with a progress line, checkpoints and --resume; SIGINT/SIGTERM checkpoint and stop.
// Data parallel under torchrun's environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), or --nproc N to start
// N local ranks (cli/launcher.h); see docs/training.md.
#include <csignal>
#include <cstdio>

#include "cli/commands.h"
#include "cli/launcher.h"
#include "model/trainer.h"

namespace dcodec::cli {
namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

}  // namespace

Command AddTrainCommand(CLI::App& app, const GlobalOptions& global) {
  auto o = std::make_shared<model::TrainOptions>();
  auto threads = std::make_shared<int>(0);
  auto nproc = std::make_shared<int>(1);
  app.add_option("--data", o->data, "cifar10:DIR or images:DIR")->required();
  app.add_option("--run", o->run_dir, "run directory: checkpoints and model.safetensors")->required();
  app.add_option("--preset", o->preset, "UNet configuration: small | cifar | tiny")->capture_default_str();
  app.add_option("--schedule", o->schedule, "noise schedule: linear | cosine")->capture_default_str();
  app.add_option("--crop", o->crop, "images: crop size in pixels")->capture_default_str();
  app.add_option("--max-downscale", o->max_downscale, "images: random downscale range [1, X]")->capture_default_str();
  app.add_option("--batch", o->batch_size, "batch size")->capture_default_str();
  app.add_option("--steps", o->steps, "total optimizer steps")->capture_default_str();
  app.add_option("--lr", o->lr, "Adam learning rate")->capture_default_str();
  app.add_option("--warmup", o->warmup, "linear warm-up steps")->capture_default_str();
  app.add_option("--lr-schedule", o->lr_schedule, "after the warm-up: constant | cosine (to --lr-min at --steps)")
      ->capture_default_str();
  app.add_option("--lr-min", o->lr_min, "cosine schedule: the learning rate at the last step")->capture_default_str();
  app.add_option("--grad-clip", o->grad_clip, "gradient norm clip")->capture_default_str();
  app.add_option("--ema", o->ema_decay, "EMA decay of the weights")->capture_default_str();
  app.add_option("--checkpoint-every", o->checkpoint_every, "checkpoint interval in steps")->capture_default_str();
  app.add_option("--checkpoint-seconds", o->checkpoint_seconds, "checkpoint interval in seconds")
      ->capture_default_str();
  app.add_option("--seed", o->seed, "random seed")->capture_default_str();
  app.add_option("--device", o->device, "cpu | cuda")->capture_default_str();
  app.add_option("--precision", o->precision,
                 "fp32 | bf16: the forward pass under bfloat16 autocast (weights, optimizer and model file stay "
                 "float32)")
      ->capture_default_str();
  app.add_option("--threads", *threads, "CPU threads (0 = all cores)")->capture_default_str();
  app.add_option("--init", o->init_model, "warm start: a model file with the preset's config (fresh optimizer)");
  app.add_option("--chain", o->chain, "also train on the codec chain's dithered inputs at these timesteps")
      ->delimiter(',');
  app.add_option("--chain-fraction", o->chain_fraction, "fraction of each batch drawn from the chain")
      ->capture_default_str();
  app.add_flag("--continuous-time", o->continuous_time,
               "L_simple over real t in (0, T] (noise levels between the steps and below one grey level)");
  app.add_flag("--scale-head", o->scale_head,
               "a per-pixel scale head for the codec's beliefs, trained on the chain's relaxed coded rate (needs --chain)");
  app.add_option("--gaussian-stages", o->gaussian_stages,
                 "the chain's first stages are the codec's Gaussian stages (their inputs Gaussian, their rate the KL)")
      ->check(CLI::Range(0, 63));
  app.add_option("--rate-weight", o->rate_weight, "with --scale-head: weight of the coded rate (bits per element)")
      ->check(FiniteNumber(0, 1e6))
      ->capture_default_str();
  app.add_flag("--resume", o->resume, "continue from RUN/checkpoint.pt");
  app.add_option("--nproc", *nproc, "start this many data-parallel ranks on this machine (--batch is the global batch)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--dist-timeout", o->distributed.timeout_seconds,
                 "distributed: seconds to wait for the other ranks before failing")
      ->check(FiniteNumber(0, 1e6))
      ->capture_default_str();
  app.add_option("--dist-backend", o->distributed.backend, "distributed: auto | gloo | nccl")->capture_default_str();
  return [o, threads, nproc, &global]() -> Status {
    if (*nproc > 1) {
      LaunchOptions launch;
      launch.nproc = *nproc;
      launch.threads_per_rank = *threads > 0 ? *threads : std::max(1, ResolveThreads(0) / *nproc);
      launch.grace_seconds = std::min(30.0, o->distributed.timeout_seconds);
      return LaunchLocalRanks(WithoutOption(CommandLine(), "--nproc"), launch);
    }
    {
      auto env = model::DistributedFromEnvironment();
      if (!env.ok()) return env.status();
      env->timeout_seconds = o->distributed.timeout_seconds;
      env->backend = o->distributed.backend;
      o->distributed = *env;
    }
    SetThreads(*threads);
    std::signal(SIGINT, OnSignal);
    std::signal(SIGTERM, OnSignal);
    auto progress = [&](const model::TrainProgress& p) {
      if (global.quiet) return;  // (only rank 0 reports)
      bool line_end = p.checkpointed || p.step == p.total_steps;
      char rate[48] = "";
      if (o->scale_head) std::snprintf(rate, sizeof(rate), "  rate %.4f bits", p.rate);
      std::fprintf(stderr, "\rstep %lld/%lld  loss %.5f%s  %.1f img/s%s  lr %.2e%s%s", static_cast<long long>(p.step),
                   static_cast<long long>(p.total_steps), p.loss, rate, p.images_per_second,
                   p.world_size > 1 ? (" (" + std::to_string(p.world_size) + " ranks)").c_str() : "", p.lr,
                   p.skipped_nan ? "  (NaN steps skipped)" : "", p.checkpointed ? "  [checkpoint]" : "");
      if (line_end) std::fprintf(stderr, "\n");
      std::fflush(stderr);
    };
    Status status = model::Train(*o, progress, &g_stop);
    if (status.ok() && !global.quiet && o->distributed.rank == 0) {
      std::fprintf(stderr, "model written to %s/model.safetensors\n", o->run_dir.c_str());
    }
    return status;
  };
}

}  // namespace dcodec::cli
