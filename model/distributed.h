// Data-parallel training on torch.distributed (c10d): who the ranks are, the collectives the trainer needs, and the
// bucketed gradient all-reduce that overlaps the backward pass.
//
// A run is started the way torchrun starts one: every process gets RANK, WORLD_SIZE (and LOCAL_RANK), and finds
// the others through a TCPStore at MASTER_ADDR:MASTER_PORT, which rank 0 hosts. The collectives use Gloo (CPU
// tensors, or CUDA tensors in a CUDA build) or, where the build has it (DCODEC_WITH_NCCL), NCCL for CUDA.
//
// Failure: every collective is bounded by the group's timeout. A rank whose peer died sees the connection close at
// once; a rank whose peer hangs sees the timeout. Either way the call returns kUnavailable naming this rank and
// the operation, so the run ends with an error instead of hanging.
//
// LibTorch types appear only as forward declarations: c10d and Gloo stay inside distributed.cc.
#ifndef DCODEC_MODEL_DISTRIBUTED_H_
#define DCODEC_MODEL_DISTRIBUTED_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace at {
class Tensor;
}  // namespace at

namespace dcodec::model {

struct DistributedOptions {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  double timeout_seconds = 300;  // rendezvous and every collective
  std::string backend = "auto";  // auto (NCCL for CUDA where built, else Gloo) | gloo | nccl
};

// RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT from the environment. World size 1 when WORLD_SIZE is
// unset; kInvalidArgument naming the variable when one is malformed or RANK is missing for a world size > 1.
StatusOr<DistributedOptions> DistributedFromEnvironment();

// True when this build has c10d with Gloo (libgloo-dev at build time).
bool DistributedAvailable();

// A TCP port on 127.0.0.1 that nothing listens on now (the kernel's pick for an ephemeral bind), for a
// MASTER_PORT on this machine; 29500 if the kernel will not say.
int PickFreePort();

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  // World size 1: a group of one, no network. Otherwise joins the others (rank 0 hosts the store) within the
  // timeout. `device` is "cpu" or "cuda".
  static StatusOr<std::unique_ptr<ProcessGroup>> Connect(const DistributedOptions& options, const std::string& device);

  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual std::string backend() const = 0;

  // In place, blocking. kUnavailable when a peer died or hung.
  virtual Status AllReduceSum(at::Tensor& tensor) = 0;
  virtual Status AllReduceMax(at::Tensor& tensor) = 0;
  virtual Status Broadcast(at::Tensor& tensor, int root) = 0;
  // `bytes` (root's) to every rank; others' vectors are replaced.
  Status BroadcastBytes(std::vector<uint8_t>* bytes, int root);

  // Starts an in-place sum; Wait() finishes it (collectives must be started in the same order on every rank).
  class Pending {
   public:
    virtual ~Pending() = default;
    virtual Status Wait() = 0;
  };
  virtual StatusOr<std::unique_ptr<Pending>> StartAllReduceSum(at::Tensor& tensor) = 0;
};

// Sums the gradients of `params` over the ranks, bucket by bucket while the backward pass runs: each parameter's
// gradient hook copies the gradient into its bucket's flat buffer, and a bucket whose gradients are all in is
// all-reduced at once, asynchronously. Buckets hold parameters in reverse order (about the order backward produces
// them) and are launched strictly in order, so every rank issues the same collectives in the same sequence.
// Finish() launches what is left (a parameter without a gradient this step contributes zeros), waits, and writes
// the sums into the parameters' .grad.
class GradientReducer {
 public:
  GradientReducer(ProcessGroup& group, const std::vector<at::Tensor>& params, int64_t bucket_bytes = 1 << 20);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  void Prepare();   // before backward()
  Status Finish();  // after backward()
  int num_buckets() const;
  // Buckets of the last step whose all-reduce started from a gradient hook, during backward (the rest started in
  // Finish): the overlap actually achieved.
  int buckets_started_in_backward() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with the hooks, which outlive nothing but are registered on params
};

}  // namespace dcodec::model

#endif  // DCODEC_MODEL_DISTRIBUTED_H_
