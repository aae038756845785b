#include "engine/dist/communicator.h"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "engine/common/error.h"
#include "engine/common/parse.h"

namespace starattn {

NodeRank LocalRank(const Communicator& world) {
  for (auto [r, n] : {std::pair{"OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"},
                      std::pair{"MPI_LOCALRANKID", "MPI_LOCALNRANKS"}}) {
    const char* rv = std::getenv(r);
    const char* nv = std::getenv(n);
    if (rv != nullptr && nv != nullptr) {
      const int n_local = static_cast<int>(ParseInt(nv, n, 1, std::numeric_limits<int>::max()));
      return {static_cast<int>(ParseInt(rv, r, 0, n_local - 1)), n_local};
    }
  }
  return {world.rank(), world.size()};
}

double Communicator::AllReduceMax(double x) {
  std::vector<double> all(size());
  AllGather(&x, sizeof(double), all.data());
  return *std::max_element(all.begin(), all.end());
}

int64_t Communicator::AllReduceSum(int64_t x) {
  std::vector<int64_t> all(size());
  AllGather(&x, sizeof(int64_t), all.data());
  int64_t s = 0;
  for (int64_t v : all) s += v;
  return s;
}

// Collectives go through one staging area guarded by a generation-counting barrier;
// point-to-point messages through per-(src, dst) FIFO mailboxes.
struct InProcessGroup::Shared {
  explicit Shared(int n) : size(n), slots(n) {}
  const int size;
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  uint64_t generation = 0;
  std::vector<const void*> slots;  // each rank's send buffer during a collective
  std::map<std::pair<int, int>, std::deque<std::vector<uint8_t>>> mail;

  // Blocks until every rank has arrived; returns with the lock released.
  void Wait() {
    std::unique_lock<std::mutex> lock(mu);
    const uint64_t gen = generation;
    if (++arrived == size) {
      arrived = 0;
      ++generation;
      cv.notify_all();
    } else {
      cv.wait(lock, [&] { return generation != gen; });
    }
  }
};

namespace {

class InProcessEndpoint : public Communicator {
 public:
  InProcessEndpoint(InProcessGroup::Shared* s, int rank) : s_(s), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return s_->size; }
  std::string kind() const override { return "in-process"; }

  void AllGather(const void* send, size_t bytes, void* recv) override {
    {
      std::lock_guard<std::mutex> lock(s_->mu);
      s_->slots[rank_] = send;
    }
    s_->Wait();  // every slot is published
    for (int r = 0; r < s_->size; ++r) {
      std::memcpy(static_cast<uint8_t*>(recv) + r * bytes, s_->slots[r], bytes);
    }
    s_->Wait();  // nobody reuses its send buffer before everyone copied
  }

  void Broadcast(void* buf, size_t bytes, int root) override {
    if (rank_ == root) {
      std::lock_guard<std::mutex> lock(s_->mu);
      s_->slots[root] = buf;
    }
    s_->Wait();
    if (rank_ != root) std::memcpy(buf, s_->slots[root], bytes);
    s_->Wait();
  }

  void SendRecv(const void* send, size_t send_bytes, int dest, void* recv, size_t recv_bytes,
                int src) override {
    std::unique_lock<std::mutex> lock(s_->mu);
    const auto* p = static_cast<const uint8_t*>(send);
    s_->mail[{rank_, dest}].emplace_back(p, p + send_bytes);
    s_->cv.notify_all();
    auto& box = s_->mail[{src, rank_}];
    s_->cv.wait(lock, [&] { return !box.empty(); });
    if (box.front().size() != recv_bytes) {
      Fail("in-process SendRecv: rank {} expected {} bytes from rank {}, got {}", rank_, recv_bytes,
           src, box.front().size());
    }
    std::memcpy(recv, box.front().data(), recv_bytes);
    box.pop_front();
  }

  void Barrier() override { s_->Wait(); }

 private:
  InProcessGroup::Shared* s_;
  int rank_;
};

}  // namespace

InProcessGroup::InProcessGroup(int size) : shared_(std::make_unique<Shared>(size)) {
  if (size <= 0) Fail("host count must be positive, got {}", size);
  endpoints_.reserve(size);
  for (int r = 0; r < size; ++r) {
    endpoints_.push_back(std::make_unique<InProcessEndpoint>(shared_.get(), r));
  }
}

InProcessGroup::~InProcessGroup() = default;

Communicator& InProcessGroup::Endpoint(int rank) { return *endpoints_.at(rank); }
int InProcessGroup::size() const { return shared_->size; }

}  // namespace starattn
