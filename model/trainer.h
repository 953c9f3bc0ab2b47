// The training loop of `dcodec train`: Algorithm 1 of Ho et al. (2020) on L_simple, with Adam, linear warm-up,
// gradient clipping, an EMA of the weights, a NaN guard, periodic checkpoints and resume.
//
// Determinism: step i draws its data with std::mt19937_64 seeded from (seed, i) and its noise, timesteps and
// dropout from torch's generator seeded the same way, so a run resumed from the checkpoint at step i takes exactly
// the step an uninterrupted run would have taken (same device, same thread count).
//
// Data parallel (options.distributed.world_size W > 1, see model/distributed.h): --batch is the global batch B.
// Rank r holds images [B r / W, B (r + 1) / W) of every step's batch: the data and noise draws are the global
// batch's (from (seed, step) alone) and each rank reads and uses its slice, with the loss weighted per image, so
// the summed gradient is the one a single process with batch B computes — W ranks take the same steps as one, up to
// float rounding in the sums, and a run can resume on another number of ranks. Only dropout masks are drawn per
// rank (from seed, rank and step). Gradients are summed by GradientReducer; the loss, the stop request and the
// checkpoint decision are agreed through one small all-reduce per step, so every rank skips, stops and checks the
// same steps. Rank 0 alone reads the checkpoint (then sends it to the others), writes checkpoints and reports
// progress; at every checkpoint the ranks compare a checksum of their weights and stop if they have diverged.
//
// A run directory holds:
//   checkpoint.pt      weights, EMA weights and optimizer state (LibTorch archive)
//   checkpoint.json    {"step", "xxh64" of checkpoint.pt, "options", "train_seconds" (wall time summed over resumed
//                      runs), "loss" (running mean at the checkpoint)}: a corrupt checkpoint is detected on resume
//   model.safetensors  the EMA weights as a dcodec model file, rewritten at every checkpoint
#ifndef DCODEC_MODEL_TRAINER_H_
#define DCODEC_MODEL_TRAINER_H_

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/distributed.h"

namespace dcodec::model {

struct TrainOptions {
  std::string data;             // "cifar10:DIR" or "images:DIR"
  int crop = 64;                // images: crop size
  double max_downscale = 3.0;   // images: random downscale range [1, max_downscale]
  std::string preset = "small"; // UNet configuration: small | cifar | tiny
  std::string schedule = "linear";  // linear | cosine
  int num_steps_diffusion = 1000;   // T
  int batch_size = 64;
  int64_t steps = 10000;        // total optimizer steps (a resumed run continues up to this)
  double lr = 2e-4;
  int64_t warmup = 500;
  // After the warm-up: "constant" keeps lr; "cosine" anneals it to lr_min at `steps` (half a cosine period).
  std::string lr_schedule = "constant";
  double lr_min = 0.0;
  double grad_clip = 1.0;
  double ema_decay = 0.999;
  int64_t checkpoint_every = 500;   // steps
  double checkpoint_seconds = 600;  // also checkpoint when this much wall time has passed
  std::string run_dir;          // where checkpoints and the model file go
  uint64_t seed = 0;
  std::string device = "cpu";   // cpu | cuda
  // "fp32", or "bf16": the network's forward pass under bfloat16 autocast (convolutions and matrix products in
  // bf16, on CPUs with AVX512_BF16/AMX through oneDNN, and on GPUs), its output, the losses, the gradients' float32
  // master weights, the optimizer and the EMA in float32. Only training changes: the model file holds float32
  // weights, and the codec runs them in float32 as always, so streams stay exact and portable.
  std::string precision = "fp32";
  bool resume = false;          // continue from run_dir/checkpoint.pt
  // Warm start: a dcodec model file whose weights start the network and its EMA (fresh optimizer and step 0).
  // Its UNet config and schedule must match the preset's. Ignored by --resume, whose checkpoint already holds them.
  std::string init_model;
  // Train also on the codec's own inputs (Diffusion::LossChain): `chain` is the coding chain's timesteps (e.g.
  // 400,162,45,10), and that fraction of every batch draws its x_t from the dithered chain instead of q(x_t | x_0).
  std::vector<int> chain;
  double chain_fraction = 0.0;
  // A per-pixel scale head (UNetConfig::Output::kEpsilonAndLogScale; the codec's stage beliefs use it): the chain
  // part of each batch then also trains on the codec's relaxed coded rate (Diffusion::LossChainWithRate), its loss
  // being MSE + rate_weight · bits per element. --init may name the same network without the head: the head's
  // output channels start at zero.
  // L_simple's t drawn from the reals in (0, T] (Diffusion::LossSimple's continuous_time): the network learns
  // every noise level, down to a fraction of a grey level, for continuous-time sampling and chains.
  bool continuous_time = false;
  bool scale_head = false;
  double rate_weight = 0.1;
  // The chain's first gaussian_stages stages are the codec's Gaussian stages (Diffusion::LossChain).
  int gaussian_stages = 0;
  // This process's place in a data-parallel run (world size 1: alone).
  DistributedOptions distributed;
};

// The learning rate of optimizer step `step` (0-based): a linear warm-up to options.lr over options.warmup steps,
// then options.lr_schedule.
double LearningRate(const TrainOptions& options, int64_t step);

struct TrainProgress {
  int64_t step;
  int64_t total_steps;
  double loss;           // running mean of the recent steps
  double rate;           // with a scale head: running mean of the chain's relaxed coded bits per element, else 0
  double images_per_second;
  double lr;
  bool checkpointed;     // a checkpoint was written at this step
  int64_t skipped_nan;   // steps skipped because the loss or gradient was not finite
  int world_size;        // ranks training together (images_per_second counts all of them)
};

// Runs until options.steps or until *stop becomes true on any rank (then writes a final checkpoint). `on_progress`
// is called after every step, on rank 0 only. kUnavailable when another rank died or hung.
Status Train(const TrainOptions& options, const std::function<void(const TrainProgress&)>& on_progress,
             const std::atomic<bool>* stop = nullptr);

}  // namespace dcodec::model

#endif  // DCODEC_MODEL_TRAINER_H_
