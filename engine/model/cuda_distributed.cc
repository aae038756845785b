#include "engine/model/cuda_distributed.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <numeric>
#include <thread>
#include <utility>

#include "engine/common/error.h"
#include "engine/cpu/ops.h"
#include "engine/cuda/check.cuh"
#include "engine/cuda/merge_states.cuh"

namespace starattn {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::vector<int32_t> Range(int64_t from, int64_t n) {
  std::vector<int32_t> v(n);
  std::iota(v.begin(), v.end(), static_cast<int32_t>(from));
  return v;
}

// A device buffer that grows (synchronising its stream before freeing: queued work may still
// read the old one).
class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() {
    if (p_ != nullptr) STARATTN_CUDA_CHECK(cudaFree(p_));
  }
  void* Get(size_t bytes, cudaStream_t stream) {
    if (bytes > cap_) {
      if (p_ != nullptr) {
        STARATTN_CUDA_CHECK(cudaStreamSynchronize(stream));
        STARATTN_CUDA_CHECK(cudaFree(p_));
        p_ = nullptr;
        cap_ = 0;
      }
      const cudaError_t e = cudaMalloc(&p_, bytes);
      if (e != cudaSuccess) {
        p_ = nullptr;
        (void)cudaGetLastError();  // clear it: later launch checks must not report this failure
        Fail("CUDA: cannot allocate {:.1f} MiB of attention scratch: {}", bytes / 1048576.0,
             cudaGetErrorString(e));
      }
      cap_ = bytes;
    }
    return p_;
  }
  void* get() const { return p_; }

 private:
  void* p_ = nullptr;
  size_t cap_ = 0;
};

char* Bytes(void* p) { return static_cast<char*>(p); }
const char* Bytes(const void* p) { return static_cast<const char*>(p); }

// MergeStates for the model's dtype.
void Merge(DeviceDType t, const void* outs, const float* lses, int64_t n_states, int64_t rows,
           int64_t dim, void* out, float* lse, cudaStream_t stream) {
  switch (t) {
    case DeviceDType::kBf16:
      STARATTN_CUDA_CHECK(cuda::MergeStates<__nv_bfloat16>(
          static_cast<const __nv_bfloat16*>(outs), lses, n_states, rows, dim,
          static_cast<__nv_bfloat16*>(out), lse, stream));
      return;
    case DeviceDType::kFp16:
      STARATTN_CUDA_CHECK(cuda::MergeStates<__half>(static_cast<const __half*>(outs), lses,
                                                    n_states, rows, dim, static_cast<__half*>(out),
                                                    lse, stream));
      return;
  }
}

// Phase 2 on one host (Phase2Attention's semantics): the new tokens attend to this host's cache;
// the states of all hosts are all-gathered and merged. The query host (last rank) appends the new
// tokens' K/V and masks causally among them; context rows are visible to every new token.
class DevicePhase2Attention : public DeviceLayerAttention {
 public:
  DevicePhase2Attention(DeviceKvCache& cache, cuda::DeviceCommunicator& comm, CudaModel& model)
      : cache_(cache), comm_(comm), model_(model), c_(model.config()) {}

  void Attend(int64_t layer, int64_t n, const void* q, const void* k, const void* v, void* out,
              cudaStream_t stream) override {
    const int H = comm_.size();
    const bool query_host = comm_.rank() == H - 1;
    const int64_t rows = n * c_.n_heads;  // (token, head) pairs
    const int64_t hd = c_.head_dim;
    const size_t out_bytes = rows * hd * 2, lse_bytes = rows * sizeof(float);
    // Send buffer: out [n, n_heads, head_dim] (16-bit) then lse [n, n_heads] (fp32); out_bytes
    // is a multiple of 128 (head_dim 64 or 128), so lse stays aligned.
    const size_t send_bytes = out_bytes + lse_bytes;
    void* send = send_.Get(send_bytes, stream);
    auto* my_lse = reinterpret_cast<float*>(Bytes(send) + out_bytes);
    const int64_t past = cache_.size();
    if (query_host) {
      if (past + n > cache_.capacity()) {
        Fail("phase 2: query host cache full ({} + {} > {})", past, n, cache_.capacity());
      }
      STARATTN_CUDA_CHECK(cudaMemcpyAsync(cache_.k_at(layer, past), k, n * cache_.row_bytes(),
                                          cudaMemcpyDeviceToDevice, stream));
      STARATTN_CUDA_CHECK(cudaMemcpyAsync(cache_.v_at(layer, past), v, n * cache_.row_bytes(),
                                          cudaMemcpyDeviceToDevice, stream));
      model_.attention().Run(model_.dtype(), q, cache_.k(layer), cache_.v(layer),
                             {n, past + n, c_.n_heads, c_.n_kv_heads, hd}, {true, past, 0},
                             model_.attention_scale(), send, my_lse, stream);
    } else {
      // Every context row is visible (past == 0 gives the empty state).
      model_.attention().Run(model_.dtype(), q, cache_.k(layer), cache_.v(layer),
                             {n, past, c_.n_heads, c_.n_kv_heads, hd}, {false, 0, 0},
                             model_.attention_scale(), send, my_lse, stream);
    }
    if (H == 1) {
      STARATTN_CUDA_CHECK(cudaMemcpyAsync(out, send, out_bytes, cudaMemcpyDeviceToDevice, stream));
      return;
    }
    void* recv = recv_.Get(H * send_bytes, stream);
    comm_.AllGather(send, send_bytes, recv, stream);
    // Regroup [H, send_bytes] into outs [H, rows, hd] and lses [H, rows] for the merge.
    void* outs = outs_.Get(H * out_bytes, stream);
    auto* lses = static_cast<float*>(lses_.Get(H * lse_bytes, stream));
    STARATTN_CUDA_CHECK(cudaMemcpy2DAsync(outs, out_bytes, recv, send_bytes, out_bytes, H,
                                          cudaMemcpyDeviceToDevice, stream));
    STARATTN_CUDA_CHECK(cudaMemcpy2DAsync(lses, lse_bytes, Bytes(recv) + out_bytes, send_bytes,
                                          lse_bytes, H, cudaMemcpyDeviceToDevice, stream));
    auto* merged_lse = static_cast<float*>(merged_lse_.Get(lse_bytes, stream));
    Merge(model_.dtype(), outs, lses, H, rows, hd, out, merged_lse, stream);
  }

  void Finish(int64_t n) override {
    if (comm_.rank() == comm_.size() - 1) cache_.Resize(cache_.size() + n);
  }

 private:
  DeviceKvCache& cache_;
  cuda::DeviceCommunicator& comm_;
  CudaModel& model_;
  const ModelConfig& c_;
  Scratch send_, recv_, outs_, lses_, merged_lse_;
};

// Ring attention for the context (RingAttention's semantics): each host's queries (its two
// zigzag chunks) see every earlier context token exactly; K/V blocks travel around the ring in
// H - 1 SendRecv steps. The running state of each query chunk lives in two ping-pong buffers of
// [2, rows, head_dim] (slot 0: the state so far, slot 1: the newest partial), merged from one
// into slot 0 of the other.
class DeviceRingAttention : public DeviceLayerAttention {
 public:
  DeviceRingAttention(DeviceKvCache& cache, cuda::DeviceCommunicator& comm, CudaModel& model,
                      int64_t L)
      : cache_(cache), comm_(comm), model_(model), c_(model.config()), L_(L) {}

  void Attend(int64_t layer, int64_t n, const void* q, const void* k, const void* v, void* out,
              cudaStream_t stream) override {
    const int H = comm_.size(), me = comm_.rank();
    const int64_t row_bytes = cache_.row_bytes(), hd = c_.head_dim, nh = c_.n_heads;
    STARATTN_CUDA_CHECK(
        cudaMemcpyAsync(cache_.k(layer), k, n * row_bytes, cudaMemcpyDeviceToDevice, stream));
    STARATTN_CUDA_CHECK(
        cudaMemcpyAsync(cache_.v(layer), v, n * row_bytes, cudaMemcpyDeviceToDevice, stream));
    const std::vector<Chunk> mine = RingChunks(L_, H, me);
    // The block in hand: K then V of its owner's tokens, [len, n_kv_heads, hd] each.
    void* block = block_.Get(2 * n * row_bytes, stream);
    STARATTN_CUDA_CHECK(cudaMemcpyAsync(block, k, n * row_bytes, cudaMemcpyDeviceToDevice, stream));
    STARATTN_CUDA_CHECK(cudaMemcpyAsync(Bytes(block) + n * row_bytes, v, n * row_bytes,
                                        cudaMemcpyDeviceToDevice, stream));
    int64_t block_rows = n;
    // Per query chunk: two [2, rows, hd] state buffers and their [2, rows] lse.
    struct State {
      int64_t rows = 0;
      void* out[2] = {nullptr, nullptr};
      float* lse[2] = {nullptr, nullptr};
      int cur = 0;
      bool empty = true;
    };
    State st[2];
    for (int c = 0; c < 2; ++c) {
      st[c].rows = mine[c].len * nh;
      for (int b = 0; b < 2; ++b) {
        st[c].out[b] = state_out_[c][b].Get(2 * st[c].rows * hd * 2, stream);
        st[c].lse[b] = static_cast<float*>(state_lse_[c][b].Get(2 * st[c].rows * 4, stream));
      }
    }
    for (int step = 0; step < H; ++step) {
      const int owner = (me - step + H) % H;
      const std::vector<Chunk> theirs = RingChunks(L_, H, owner);
      const int64_t their_n = theirs[0].len + theirs[1].len;
      if (their_n != block_rows) Fail("ring: block of {} rows, expected {}", block_rows, their_n);
      const char* bk = Bytes(block_.get());
      const char* bv = bk + their_n * row_bytes;
      int64_t q_row = 0;
      for (int c = 0; c < 2; ++c) {
        const Chunk& qc = mine[c];
        State& s = st[c];
        int64_t k_row = 0;
        for (const Chunk& kc : theirs) {
          // Key chunks entirely after this query chunk are skipped (the causal half).
          if (qc.len > 0 && kc.len > 0 && kc.start <= qc.start + qc.len - 1) {
            const cuda::DeviceAttentionShape shape{qc.len, kc.len, nh, c_.n_kv_heads, hd};
            const int slot = s.empty ? 0 : 1;  // the first partial is the state itself
            void* part_out = Bytes(s.out[s.cur]) + slot * s.rows * hd * 2;
            float* part_lse = s.lse[s.cur] + slot * s.rows;
            model_.attention().Run(model_.dtype(), Bytes(q) + q_row * nh * hd * 2,
                                   bk + k_row * row_bytes, bv + k_row * row_bytes, shape,
                                   {true, qc.start, kc.start}, model_.attention_scale(), part_out,
                                   part_lse, stream);
            if (!s.empty) {
              const int next = 1 - s.cur;
              Merge(model_.dtype(), s.out[s.cur], s.lse[s.cur], 2, s.rows, hd, s.out[next],
                    s.lse[next], stream);
              s.cur = next;
            }
            s.empty = false;
          }
          k_row += kc.len;
        }
        q_row += qc.len;
      }
      if (step + 1 < H) {
        // The previous rank passes on the block of rank me - step - 1.
        const std::vector<Chunk> next = RingChunks(L_, H, (me - step - 1 + H) % H);
        const int64_t next_rows = next[0].len + next[1].len;
        void* recv = next_.Get(2 * next_rows * row_bytes, stream);
        comm_.SendRecv(block_.get(), 2 * block_rows * row_bytes, (me + 1) % H, recv,
                       2 * next_rows * row_bytes, (me - 1 + H) % H, stream);
        std::swap(block_, next_);
        block_rows = next_rows;
      }
    }
    // Every query chunk saw at least its own diagonal block (L >= 2H: no chunk is empty).
    int64_t q_row = 0;
    for (int c = 0; c < 2; ++c) {
      if (st[c].empty) Fail("ring: query chunk {} of host {} saw no keys", c, me);
      STARATTN_CUDA_CHECK(cudaMemcpyAsync(Bytes(out) + q_row * nh * hd * 2, st[c].out[st[c].cur],
                                          st[c].rows * hd * 2, cudaMemcpyDeviceToDevice, stream));
      q_row += mine[c].len;
    }
  }

  void Finish(int64_t n) override { cache_.Resize(n); }

 private:
  // Swappable scratch: block_ and next_ trade places each step.
  struct SwapScratch {
    std::unique_ptr<Scratch> s = std::make_unique<Scratch>();
    void* Get(size_t bytes, cudaStream_t stream) { return s->Get(bytes, stream); }
    void* get() const { return s->get(); }
    friend void swap(SwapScratch& a, SwapScratch& b) noexcept { std::swap(a.s, b.s); }
  };

  DeviceKvCache& cache_;
  cuda::DeviceCommunicator& comm_;
  CudaModel& model_;
  const ModelConfig& c_;
  int64_t L_;
  SwapScratch block_, next_;
  Scratch state_out_[2][2], state_lse_[2][2];
};

// Star phase 1 on this host: its blocks, each encoded with its anchor in a scratch cache; the
// block's K/V are kept, the anchor's discarded. Returns the scratch cache's reserved bytes.
int64_t StarPhase1(CudaModel& model, const DistConfig& cfg, std::span<const int32_t> context,
                   int64_t block_begin, int64_t block_end, DeviceKvCache& cache) {
  const int64_t L = static_cast<int64_t>(context.size());
  const int64_t b = cfg.block_size, a = cfg.anchor();
  DeviceKvCache scratch(model.weights(), a + b);
  const int64_t row_bytes = cache.row_bytes();
  const cudaStream_t s = model.stream();
  std::vector<int32_t> tokens, positions;
  for (int64_t blk = block_begin; blk < block_end; ++blk) {
    const int64_t start = blk * b, len = std::min(b, L - start);
    const int64_t n_anchor = StarBlockInput(cfg, context, blk, &tokens, &positions);
    scratch.Resize(0);
    const std::span<const int32_t> tok(tokens), pos(positions);
    for (size_t i = 0; i < tokens.size(); i += cfg.ubatch) {
      const size_t n = std::min<size_t>(cfg.ubatch, tokens.size() - i);
      model.Forward(tok.subspan(i, n), pos.subspan(i, n), scratch, LogitsFor::kNone);
    }
    const int64_t dst = cache.size();
    if (dst + len > cache.capacity()) Fail("star phase 1: host cache full");
    for (int64_t l = 0; l < model.config().n_layers; ++l) {
      STARATTN_CUDA_CHECK(cudaMemcpyAsync(cache.k_at(l, dst), scratch.k_at(l, n_anchor),
                                          len * row_bytes, cudaMemcpyDeviceToDevice, s));
      STARATTN_CUDA_CHECK(cudaMemcpyAsync(cache.v_at(l, dst), scratch.v_at(l, n_anchor),
                                          len * row_bytes, cudaMemcpyDeviceToDevice, s));
    }
    cache.Resize(dst + len);
  }
  // The scratch cache is freed on return: its copies must have run.
  STARATTN_CUDA_CHECK(cudaStreamSynchronize(s));
  return scratch.reserved_bytes();
}

}  // namespace

std::vector<float> CudaPhase2Logits(CudaModel& model, cuda::DeviceCommunicator& comm,
                                    DeviceKvCache& host_cache, std::span<const int32_t> query,
                                    int32_t first_position) {
  DevicePhase2Attention attn(host_cache, comm, model);
  return model.Forward(query, Range(first_position, query.size()), attn, LogitsFor::kAll);
}

SampleResult CudaRunSample(CudaModel& model, cuda::DeviceCommunicator& comm, const DistConfig& cfg,
                           std::span<const int32_t> context, std::span<const int32_t> query,
                           const GenerateOptions& opts) {
  const ModelConfig& c = model.config();
  const int64_t L = static_cast<int64_t>(context.size());
  const int64_t Q = static_cast<int64_t>(query.size());
  if (comm.size() != cfg.hosts) {
    Fail("--hosts {} does not match the {} communicator's {} ranks", cfg.hosts, comm.kind(),
         comm.size());
  }
  ValidateDistConfig(cfg, L, Q, opts.max_new_tokens, c.max_positions);
  const int me = comm.rank(), H = comm.size();
  const bool query_host = me == H - 1;
  const ContextShare share = HostContextShare(cfg, L, H, me);
  const int64_t capacity = share.rows + (query_host ? Q + opts.max_new_tokens : 0);
  DeviceKvCache cache(model.weights(), capacity);
  HostStats stats;
  stats.context_tokens = share.rows;
  const cudaStream_t s = model.stream();

  // Phase 1: the context.
  auto t0 = Clock::now();
  int64_t transient = 0;
  switch (cfg.mode) {
    case AttnMode::kDense:
      for (int64_t i = 0; i < L; i += cfg.ubatch) {
        const int64_t n = std::min(cfg.ubatch, L - i);
        model.Forward(context.subspan(i, n), Range(i, n), cache, LogitsFor::kNone);
      }
      break;
    case AttnMode::kStar:
      transient = StarPhase1(model, cfg, context, share.block_begin, share.block_end, cache);
      break;
    case AttnMode::kRing: {
      std::vector<int32_t> tokens, positions;
      for (const Chunk& ch : share.ring_chunks) {
        tokens.insert(tokens.end(), context.begin() + ch.start,
                      context.begin() + ch.start + ch.len);
        const auto p = Range(ch.start, ch.len);
        positions.insert(positions.end(), p.begin(), p.end());
      }
      DeviceRingAttention ring(cache, comm, model, L);
      model.Forward(tokens, positions, ring, LogitsFor::kNone);
      break;
    }
  }
  STARATTN_CUDA_CHECK(cudaStreamSynchronize(s));
  stats.phase1_seconds = Since(t0);

  // Phase 2: the query on every host, then greedy decoding; the query host's choice is final.
  auto t1 = Clock::now();
  DevicePhase2Attention attn(cache, comm, model);
  SampleResult result;
  // The first token's logits come back whole (SampleResult::first_logits); later tokens only as
  // the device argmax.
  result.first_logits = model.Forward(query, Range(L, Q), attn, LogitsFor::kLast);
  stats.phase2_seconds = Since(t1);
  auto t2 = Clock::now();
  const Model& host = model.weights().model();
  const int32_t first = static_cast<int32_t>(cpu::Argmax(result.first_logits.data(), c.vocab_size));
  result.generation = DecodeGreedyTokens(
      first, host.has_tokenizer() ? &host.tokenizer() : nullptr, opts,
      [&](int32_t token) {
        comm.host().Broadcast(&token, sizeof(token), H - 1);
        return token;
      },
      [&](int32_t token, int64_t index) {
        const int32_t pos = static_cast<int32_t>(L + Q + index);
        return model.ForwardGreedy(std::span<const int32_t>(&token, 1),
                                   std::span<const int32_t>(&pos, 1), attn);
      });
  STARATTN_CUDA_CHECK(cudaStreamSynchronize(s));
  stats.decode_seconds = Since(t2);
  stats.kv_bytes = cache.used_bytes();
  stats.peak_kv_bytes = cache.reserved_bytes() + transient;

  result.hosts.resize(H);
  comm.host().AllGather(&stats, sizeof(HostStats), result.hosts.data());
  SetCriticalPaths(result);
  return result;
}

SampleResult CudaRunInProcess(const CudaWeights& weights, const DistConfig& cfg,
                              std::span<const int32_t> context, std::span<const int32_t> query,
                              const GenerateOptions& opts) {
  if (cfg.hosts < 1) Fail("--hosts must be at least 1, got {}", cfg.hosts);
  cuda::InProcessDeviceGroup group(cfg.hosts, weights.device());
  std::vector<SampleResult> results(cfg.hosts);
  RunHostThreads(cfg.hosts, [&](int h) {
    STARATTN_CUDA_CHECK(cudaSetDevice(weights.device()));
    CudaModel model(weights);
    results[h] = CudaRunSample(model, group.Endpoint(h), cfg, context, query, opts);
  });
  return std::move(results.back());
}

}  // namespace starattn
