#include "model/distributed.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <cstdlib>
#include <mutex>

// c10d declares its process groups only under these macros (set when LibTorch itself is built).
#ifdef DCODEC_WITH_GLOO
#define USE_C10D_GLOO 1
#endif
#ifdef DCODEC_WITH_NCCL
#define USE_C10D_NCCL 1
#endif
#if defined(DCODEC_WITH_GLOO) || defined(DCODEC_WITH_NCCL)
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef DCODEC_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef DCODEC_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace dcodec::model {
namespace {


StatusOr<int64_t> EnvInt(const char* name, int64_t fallback, int64_t lo, int64_t hi) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  char* end = nullptr;
  long long v = std::strtoll(value, &end, 10);
  if (*end != '\0' || v < lo || v > hi) {
    return InvalidArgument(std::string("environment ") + name + "='" + value + "': expected an integer in " +
                           std::to_string(lo) + ".." + std::to_string(hi));
  }
  return static_cast<int64_t>(v);
}

// The group of one: every collective is the identity.
class LocalGroup : public ProcessGroup {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  std::string backend() const override { return "local"; }
  Status AllReduceSum(at::Tensor&) override { return Status::Ok(); }
  Status AllReduceMax(at::Tensor&) override { return Status::Ok(); }
  Status Broadcast(at::Tensor&, int) override { return Status::Ok(); }
  StatusOr<std::unique_ptr<Pending>> StartAllReduceSum(at::Tensor&) override {
    struct Done : Pending {
      Status Wait() override { return Status::Ok(); }
    };
    return std::unique_ptr<Pending>(std::make_unique<Done>());
  }
};

#if defined(DCODEC_WITH_GLOO) || defined(DCODEC_WITH_NCCL)

// c10d's process group (Gloo's or NCCL's backend class, the same interface in 1.13 and 2.x).
template <typename Backend>
class C10dGroup : public ProcessGroup {
 public:
  C10dGroup(c10::intrusive_ptr<c10d::Store> store, c10::intrusive_ptr<Backend> group, int rank, int world,
            std::string name, double timeout_seconds)
      : store_(std::move(store)), group_(std::move(group)), rank_(rank), world_(world), name_(std::move(name)),
        timeout_seconds_(timeout_seconds) {}
  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  std::string backend() const override { return name_; }

  Status AllReduceSum(at::Tensor& tensor) override { return Run("all-reduce", [&] { return Reduce(tensor, c10d::ReduceOp::SUM); }); }
  Status AllReduceMax(at::Tensor& tensor) override { return Run("all-reduce", [&] { return Reduce(tensor, c10d::ReduceOp::MAX); }); }
  Status Broadcast(at::Tensor& tensor, int root) override {
    return Run("broadcast", [&] {
      std::vector<at::Tensor> v{tensor};
      c10d::BroadcastOptions o;
      o.rootRank = root;
      return group_->broadcast(v, o);
    });
  }

  StatusOr<std::unique_ptr<Pending>> StartAllReduceSum(at::Tensor& tensor) override {
    struct Started : Pending {
      C10dGroup* owner;
      decltype(std::declval<Backend>().allreduce(std::declval<std::vector<at::Tensor>&>())) work;
      Status Wait() override { return owner->WaitFor("all-reduce", work); }
    };
    auto p = std::make_unique<Started>();
    p->owner = this;
    try {
      p->work = Reduce(tensor, c10d::ReduceOp::SUM);
    } catch (const std::exception& e) {
      return Failed("all-reduce", e.what());
    }
    return std::unique_ptr<Pending>(std::move(p));
  }

 private:
  auto Reduce(at::Tensor& tensor, c10d::ReduceOp op) {
    std::vector<at::Tensor> v{tensor};
    c10d::AllreduceOptions o;
    o.reduceOp = op;
    return group_->allreduce(v, o);
  }
  template <typename Fn>
  Status Run(const char* what, Fn&& start) {
    try {
      auto work = start();
      return WaitFor(what, work);
    } catch (const std::exception& e) {
      return Failed(what, e.what());
    }
  }
  template <typename Work>
  Status WaitFor(const char* what, Work& work) {
    try {
      work->wait();
      return Status::Ok();
    } catch (const std::exception& e) {
      return Failed(what, e.what());
    }
  }
  Status Failed(const char* what, const std::string& detail) {
    std::string first_line = detail.substr(0, detail.find('\n'));
    return Unavailable("rank " + std::to_string(rank_) + " of " + std::to_string(world_) + ": " + what +
                       " failed (another rank died, hung past the " + std::to_string(static_cast<int>(timeout_seconds_)) +
                       " s timeout, or the network broke): " + first_line);
  }

  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<Backend> group_;
  int rank_, world_;
  std::string name_;
  double timeout_seconds_;
};

#endif

}  // namespace

StatusOr<DistributedOptions> DistributedFromEnvironment() {
  DistributedOptions o;
  DCODEC_ASSIGN_OR_RETURN(int64_t world, EnvInt("WORLD_SIZE", 1, 1, 1 << 16));
  o.world_size = static_cast<int>(world);
  if (o.world_size == 1) return o;
  if (std::getenv("RANK") == nullptr) return InvalidArgument("environment WORLD_SIZE is set but RANK is not");
  DCODEC_ASSIGN_OR_RETURN(int64_t rank, EnvInt("RANK", 0, 0, o.world_size - 1));
  DCODEC_ASSIGN_OR_RETURN(int64_t local, EnvInt("LOCAL_RANK", rank, 0, 1 << 16));
  DCODEC_ASSIGN_OR_RETURN(int64_t port, EnvInt("MASTER_PORT", 29500, 1, 65535));
  o.rank = static_cast<int>(rank);
  o.local_rank = static_cast<int>(local);
  o.master_port = static_cast<int>(port);
  if (const char* addr = std::getenv("MASTER_ADDR"); addr != nullptr && *addr != '\0') o.master_addr = addr;
  return o;
}

int PickFreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 29500;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 29500;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

bool DistributedAvailable() {
#ifdef DCODEC_WITH_GLOO
  return true;
#else
  return false;
#endif
}

StatusOr<std::unique_ptr<ProcessGroup>> ProcessGroup::Connect(const DistributedOptions& options,
                                                              const std::string& device) {
  if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size) {
    return InvalidArgument("rank " + std::to_string(options.rank) + " is outside world size " +
                           std::to_string(options.world_size));
  }
  if (options.world_size == 1) return std::unique_ptr<ProcessGroup>(std::make_unique<LocalGroup>());
  if (!(options.timeout_seconds > 0)) return InvalidArgument("--dist-timeout must be positive");
  std::string backend = options.backend;
  if (backend == "auto") {
#ifdef DCODEC_WITH_NCCL
    backend = device == "cuda" ? "nccl" : "gloo";
#else
    backend = "gloo";
#endif
  }
  if (backend != "gloo" && backend != "nccl") {
    return InvalidArgument("--dist-backend '" + options.backend + "': expected auto, gloo or nccl");
  }
#if defined(DCODEC_WITH_GLOO) || defined(DCODEC_WITH_NCCL)
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(options.timeout_seconds * 1000));
  const std::string where = options.master_addr + ":" + std::to_string(options.master_port);
  c10::intrusive_ptr<c10d::Store> store;
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(options.master_port);
    so.isServer = options.rank == 0;
    so.numWorkers = options.world_size;
    so.waitWorkers = true;
    so.timeout = timeout;
    store = c10::make_intrusive<c10d::TCPStore>(options.master_addr, so);
  } catch (const std::exception& e) {
    std::string d = e.what();
    return Unavailable("rank " + std::to_string(options.rank) + " of " + std::to_string(options.world_size) +
                       ": cannot meet the other ranks at " + where + " (MASTER_ADDR:MASTER_PORT) within " +
                       std::to_string(static_cast<int>(options.timeout_seconds)) + " s: " + d.substr(0, d.find('\n')));
  }
  try {
    if (backend == "gloo") {
#ifdef DCODEC_WITH_GLOO
      auto o = c10d::ProcessGroupGloo::Options::create(timeout);
      std::string host = options.master_addr == "127.0.0.1" || options.master_addr == "localhost"
                             ? "127.0.0.1"
                             : std::string();
      o->devices.push_back(host.empty() ? c10d::ProcessGroupGloo::createDefaultDevice()
                                        : c10d::ProcessGroupGloo::createDeviceForHostname(host));
      auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, options.rank, options.world_size, o);
      return std::unique_ptr<ProcessGroup>(std::make_unique<C10dGroup<c10d::ProcessGroupGloo>>(
          store, group, options.rank, options.world_size, "gloo", options.timeout_seconds));
#else
      return Unsupported("--dist-backend gloo: this build has no Gloo (install libgloo-dev and rebuild)");
#endif
    }
#ifdef DCODEC_WITH_NCCL
    auto o = c10d::ProcessGroupNCCL::Options::create();
    o->timeout = timeout;
    auto group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, options.rank, options.world_size, o);
    return std::unique_ptr<ProcessGroup>(std::make_unique<C10dGroup<c10d::ProcessGroupNCCL>>(
        store, group, options.rank, options.world_size, "nccl", options.timeout_seconds));
#else
    return Unsupported("--dist-backend nccl: this build has no NCCL (configure with -DDCODEC_WITH_NCCL=ON against "
                       "a CUDA LibTorch)");
#endif
  } catch (const std::exception& e) {
    std::string d = e.what();
    return Unavailable("rank " + std::to_string(options.rank) + ": cannot set up the " + backend +
                       " process group: " + d.substr(0, d.find('\n')));
  }
#else
  (void)device;
  return Unsupported("this dcodec was built without torch.distributed (install libgloo-dev and rebuild); "
                     "WORLD_SIZE=" + std::to_string(options.world_size) + " needs it");
#endif
}

Status ProcessGroup::BroadcastBytes(std::vector<uint8_t>* bytes, int root) {
  auto size = torch::tensor({static_cast<int64_t>(bytes->size())}, torch::kInt64);
  DCODEC_RETURN_IF_ERROR(Broadcast(size, root));
  const int64_t n = size.item<int64_t>();
  auto data = torch::empty({std::max<int64_t>(n, 1)}, torch::kUInt8);
  if (rank() == root && n > 0) std::memcpy(data.data_ptr<uint8_t>(), bytes->data(), static_cast<size_t>(n));
  DCODEC_RETURN_IF_ERROR(Broadcast(data, root));
  if (rank() != root) bytes->assign(data.data_ptr<uint8_t>(), data.data_ptr<uint8_t>() + n);
  return Status::Ok();
}

// ---- GradientReducer ----

struct GradientReducer::Impl {
  struct Slot {
    int bucket;
    int64_t offset;  // in the bucket's buffer
    bool ready;
  };
  struct Bucket {
    torch::Tensor buffer;
    std::vector<int> params;
    int pending = 0;
    std::unique_ptr<ProcessGroup::Pending> work;
  };
  ProcessGroup* group;
  std::vector<torch::Tensor> params;
  std::vector<unsigned> hook_handles;
  std::vector<Slot> slots;
  std::vector<Bucket> buckets;
  int next_launch = 0;
  int started_in_backward = 0;
  bool active = false;
  Status error;
  std::mutex mu;

  void LaunchReady() {  // in bucket order: every rank issues the same sequence
    while (next_launch < static_cast<int>(buckets.size()) && buckets[next_launch].pending == 0) {
      Bucket& b = buckets[next_launch++];
      auto started = group->StartAllReduceSum(b.buffer);
      if (!started.ok()) {
        if (error.ok()) error = started.status();
        continue;
      }
      b.work = std::move(*started);
    }
  }

  void OnGrad(int index, const torch::Tensor& grad) {
    std::lock_guard<std::mutex> lock(mu);
    if (!active) return;
    Slot& s = slots[index];
    if (s.ready) return;
    s.ready = true;
    Bucket& b = buckets[s.bucket];
    b.buffer.narrow(0, s.offset, grad.numel()).copy_(grad.reshape({-1}));
    if (--b.pending == 0) {
      const int before = next_launch;
      LaunchReady();
      started_in_backward += next_launch - before;
    }
  }
};

GradientReducer::GradientReducer(ProcessGroup& group, const std::vector<at::Tensor>& params, int64_t bucket_bytes)
    : impl_(std::make_shared<Impl>()) {
  impl_->group = &group;
  impl_->params = params;
  impl_->slots.resize(params.size());
  int64_t filled = bucket_bytes;
  for (int i = static_cast<int>(params.size()) - 1; i >= 0; --i) {
    const int64_t bytes = params[i].numel() * static_cast<int64_t>(params[i].element_size());
    if (filled + bytes > bucket_bytes && filled > 0) {
      impl_->buckets.emplace_back();
      filled = 0;
    }
    auto& b = impl_->buckets.back();
    int64_t offset = 0;
    for (int j : b.params) offset += params[j].numel();
    b.params.push_back(i);
    impl_->slots[i] = {static_cast<int>(impl_->buckets.size()) - 1, offset, false};
    filled += bytes;
  }
  for (auto& b : impl_->buckets) {
    int64_t n = 0;
    for (int j : b.params) n += params[j].numel();
    b.buffer = torch::zeros({n}, params[b.params[0]].options().requires_grad(false));
  }
  if (group.world_size() == 1) return;  // nothing to reduce: no hooks
  std::weak_ptr<Impl> weak = impl_;
  for (size_t i = 0; i < params.size(); ++i) {
    impl_->hook_handles.push_back(impl_->params[i].register_hook([weak, i](const torch::Tensor& grad) {
      if (auto impl = weak.lock()) impl->OnGrad(static_cast<int>(i), grad);
    }));
  }
}

GradientReducer::~GradientReducer() {
  for (size_t i = 0; i < impl_->hook_handles.size(); ++i) impl_->params[i].remove_hook(impl_->hook_handles[i]);
}

int GradientReducer::num_buckets() const { return static_cast<int>(impl_->buckets.size()); }
int GradientReducer::buckets_started_in_backward() const { return impl_->started_in_backward; }

void GradientReducer::Prepare() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (auto& s : impl_->slots) s.ready = false;
  for (auto& b : impl_->buckets) {
    b.pending = static_cast<int>(b.params.size());
    b.work.reset();
  }
  impl_->next_launch = 0;
  impl_->started_in_backward = 0;
  impl_->error = Status::Ok();
  impl_->active = impl_->group->world_size() > 1;
}

Status GradientReducer::Finish() {
  if (impl_->group->world_size() == 1) return Status::Ok();
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->active = false;
    // Parameters that got no gradient this step contribute zeros.
    for (size_t i = 0; i < impl_->slots.size(); ++i) {
      auto& s = impl_->slots[i];
      if (s.ready) continue;
      s.ready = true;
      auto& b = impl_->buckets[s.bucket];
      b.buffer.narrow(0, s.offset, impl_->params[i].numel()).zero_();
      --b.pending;
    }
    impl_->LaunchReady();
  }
  Status status = impl_->error;
  for (auto& b : impl_->buckets) {
    if (b.work) {
      Status s = b.work->Wait();
      if (status.ok()) status = s;
    }
  }
  if (!status.ok()) return status;
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < impl_->params.size(); ++i) {
    auto& p = impl_->params[i];
    const auto& s = impl_->slots[i];
    auto sum = impl_->buckets[s.bucket].buffer.narrow(0, s.offset, p.numel()).view(p.sizes());
    if (p.grad().defined()) {
      p.mutable_grad().copy_(sum);
    } else {
      p.mutable_grad() = sum.clone();
    }
  }
  return Status::Ok();
}

}  // namespace dcodec::model
