#include "engine/model/distributed.h"

#include <algorithm>
#include <omp.h>

#include <chrono>
#include <exception>
#include <functional>
#include <thread>
#include <limits>
#include <numeric>

#include "engine/common/error.h"
#include "engine/cpu/attention_state.h"
#include "engine/cpu/ops.h"

namespace starattn {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

std::vector<int32_t> Range(int64_t from, int64_t n) {
  std::vector<int32_t> v(n);
  std::iota(v.begin(), v.end(), static_cast<int32_t>(from));
  return v;
}

// Runs tokens through the model into `cache` in chunks of `ubatch` (dense causal attention over
// what the cache holds).
void PrefillInto(const Model& model, std::span<const int32_t> tokens,
                 std::span<const int32_t> positions, KvCache& cache, int64_t ubatch) {
  for (size_t i = 0; i < tokens.size(); i += ubatch) {
    const size_t n = std::min<size_t>(ubatch, tokens.size() - i);
    model.Forward(tokens.subspan(i, n), positions.subspan(i, n), cache, LogitsFor::kNone);
  }
}

// Phase 2 attention on one host: the new tokens attend to this host's cache, states of all hosts
// are all-gathered and merged. The query host (last rank) appends the new tokens' K/V and masks
// causally among them; context rows are fully visible to every new token on every host.
class Phase2Attention : public LayerAttention {
 public:
  Phase2Attention(KvCache& cache, Communicator& comm, const ModelConfig& c, float scale)
      : cache_(cache), comm_(comm), c_(c), scale_(scale) {}

  void Attend(int64_t layer, int64_t n, const float* q, const float* k, const float* v,
              float* out) override {
    const bool query_host = comm_.rank() == comm_.size() - 1;
    const int64_t rows = n * c_.n_heads;  // (token, head) pairs
    const int64_t hd = c_.head_dim;
    // Send buffer: out [n, n_heads, head_dim] then lse [n, n_heads].
    send_.resize(rows * (hd + 1));
    float* my_out = send_.data();
    float* my_lse = send_.data() + rows * hd;
    const int64_t past = cache_.size();
    if (query_host) {
      const int64_t row = cache_.row_floats();
      if (past + n > cache_.capacity()) {
        Fail("phase 2: query host cache full ({} + {} > {})", past, n, cache_.capacity());
      }
      std::copy_n(k, n * row, cache_.k(layer) + past * row);
      std::copy_n(v, n * row, cache_.v(layer) + past * row);
      const cpu::AttentionShape shape{n, past + n, c_.n_heads, c_.n_kv_heads, hd};
      cpu::Attention(q, cache_.k(layer), cache_.v(layer), shape, {true, past, 0}, scale_, my_out,
                     my_lse);
    } else if (past > 0) {
      const cpu::AttentionShape shape{n, past, c_.n_heads, c_.n_kv_heads, hd};
      cpu::Attention(q, cache_.k(layer), cache_.v(layer), shape, {false, 0, 0}, scale_, my_out,
                     my_lse);
    } else {
      std::fill(my_out, my_out + rows * hd, 0.0f);
      std::fill(my_lse, my_lse + rows, kNegInf);
    }
    const int H = comm_.size();
    if (H == 1) {
      std::copy_n(my_out, rows * hd, out);
      return;
    }
    recv_.resize(H * send_.size());
    comm_.AllGather(send_.data(), send_.size() * sizeof(float), recv_.data());
    // Regroup into [H, rows, hd] and [H, rows] for the merge.
    outs_.resize(H * rows * hd);
    lses_.resize(H * rows);
    for (int h = 0; h < H; ++h) {
      const float* src = recv_.data() + h * send_.size();
      std::copy_n(src, rows * hd, outs_.data() + h * rows * hd);
      std::copy_n(src + rows * hd, rows, lses_.data() + h * rows);
    }
    merged_lse_.resize(rows);
    cpu::MergeStates(outs_.data(), lses_.data(), H, rows, hd, out, merged_lse_.data());
  }

  void Finish(int64_t n) override {
    if (comm_.rank() == comm_.size() - 1) cache_.Resize(cache_.size() + n);
  }

 private:
  KvCache& cache_;
  Communicator& comm_;
  const ModelConfig& c_;
  float scale_;
  std::vector<float> send_, recv_, outs_, lses_, merged_lse_;
};

// Ring attention for the context: each host's queries (its two chunks) see every earlier
// context token exactly; K/V blocks travel around the ring in H - 1 steps.
class RingAttention : public LayerAttention {
 public:
  RingAttention(KvCache& cache, Communicator& comm, const ModelConfig& c, float scale, int64_t L)
      : cache_(cache), comm_(comm), c_(c), scale_(scale), L_(L) {}

  void Attend(int64_t layer, int64_t n, const float* q, const float* k, const float* v,
              float* out) override {
    const int H = comm_.size(), me = comm_.rank();
    const int64_t row = cache_.row_floats(), hd = c_.head_dim, nh = c_.n_heads;
    std::copy_n(k, n * row, cache_.k(layer));
    std::copy_n(v, n * row, cache_.v(layer));
    const std::vector<Chunk> mine = RingChunks(L_, H, me);
    // Accumulated state of my queries: out [n, n_heads, hd], lse [n, n_heads].
    std::fill(out, out + n * nh * hd, 0.0f);
    acc_lse_.assign(n * nh, kNegInf);
    // The block in hand: K then V of its owner's tokens, [len, n_kv_heads, hd] each.
    block_.assign(k, k + n * row);
    block_.insert(block_.end(), v, v + n * row);
    for (int step = 0; step < H; ++step) {
      const int owner = (me - step + H) % H;
      const std::vector<Chunk> theirs = RingChunks(L_, H, owner);
      const int64_t their_n = theirs[0].len + theirs[1].len;
      const float* bk = block_.data();
      const float* bv = block_.data() + their_n * row;
      int64_t q_row = 0;
      for (const Chunk& qc : mine) {
        int64_t k_row = 0;
        for (const Chunk& kc : theirs) {
          // Skip key chunks entirely after this query chunk (the causal half ring attention
          // balances by the zigzag placement).
          if (qc.len > 0 && kc.len > 0 && kc.start <= qc.start + qc.len - 1) {
            const cpu::AttentionShape shape{qc.len, kc.len, nh, c_.n_kv_heads, hd};
            part_out_.resize(qc.len * nh * hd);
            part_lse_.resize(qc.len * nh);
            cpu::Attention(q + q_row * nh * hd, bk + k_row * row, bv + k_row * row, shape,
                           {true, qc.start, kc.start}, scale_, part_out_.data(),
                           part_lse_.data());
            cpu::MergeStateInto(out + q_row * nh * hd, acc_lse_.data() + q_row * nh,
                                part_out_.data(), part_lse_.data(), qc.len * nh, hd);
          }
          k_row += kc.len;
        }
        q_row += qc.len;
      }
      if (step + 1 < H) {
        // The previous rank passes on the block of rank me - step - 1.
        const std::vector<Chunk> next = RingChunks(L_, H, (me - step - 1 + H) % H);
        next_.resize(2 * (next[0].len + next[1].len) * row);
        comm_.SendRecv(block_.data(), block_.size() * sizeof(float), (me + 1) % H, next_.data(),
                       next_.size() * sizeof(float), (me - 1 + H) % H);
        block_.swap(next_);
      }
    }
  }

  void Finish(int64_t n) override { cache_.Resize(n); }

 private:
  KvCache& cache_;
  Communicator& comm_;
  const ModelConfig& c_;
  float scale_;
  int64_t L_;
  std::vector<float> acc_lse_, block_, next_, part_out_, part_lse_;
};

// Phase 1 of star attention on this host: its blocks, each encoded with its anchor in a
// scratch cache; the block's K/V are kept, the anchor's discarded.
void StarPhase1(const Model& model, const DistConfig& cfg, std::span<const int32_t> context,
                int64_t block_begin, int64_t block_end, KvCache& cache, int64_t* peak_bytes) {
  const int64_t L = static_cast<int64_t>(context.size());
  const int64_t b = cfg.block_size, a = cfg.anchor();
  KvCache scratch(model.config(), a + b);
  *peak_bytes = scratch.reserved_bytes();
  const int64_t row = cache.row_floats();
  for (int64_t blk = block_begin; blk < block_end; ++blk) {
    const int64_t start = blk * b, len = std::min(b, L - start);
    std::vector<int32_t> tokens, positions;
    const int64_t n_anchor = StarBlockInput(cfg, context, blk, &tokens, &positions);
    scratch.Resize(0);
    PrefillInto(model, tokens, positions, scratch, cfg.ubatch);
    const int64_t dst = cache.size();
    for (int64_t l = 0; l < model.config().n_layers; ++l) {
      std::copy_n(scratch.k(l) + n_anchor * row, len * row, cache.k(l) + dst * row);
      std::copy_n(scratch.v(l) + n_anchor * row, len * row, cache.v(l) + dst * row);
    }
    cache.Resize(dst + len);
  }
}

}  // namespace

std::string_view AttnModeName(AttnMode m) {
  switch (m) {
    case AttnMode::kDense:
      return "dense";
    case AttnMode::kStar:
      return "star";
    case AttnMode::kRing:
      return "ring";
  }
  return "?";
}
AttnMode ParseAttnMode(std::string_view s) {
  if (s == "dense") return AttnMode::kDense;
  if (s == "star") return AttnMode::kStar;
  if (s == "ring") return AttnMode::kRing;
  Fail("unknown attention mode '{}' (dense, star, ring)", s);
}
std::string_view AnchorPositionsName(AnchorPositions p) {
  return p == AnchorPositions::kOriginal ? "original" : "shifted";
}
AnchorPositions ParseAnchorPositions(std::string_view s) {
  if (s == "original") return AnchorPositions::kOriginal;
  if (s == "shifted") return AnchorPositions::kShifted;
  Fail("unknown anchor positions '{}' (original, shifted)", s);
}
std::string_view AnchorSourceName(AnchorSource s) {
  switch (s) {
    case AnchorSource::kFirst:
      return "first";
    case AnchorSource::kPrevious:
      return "previous";
    case AnchorSource::kNone:
      return "none";
  }
  return "?";
}
AnchorSource ParseAnchorSource(std::string_view s) {
  if (s == "first") return AnchorSource::kFirst;
  if (s == "previous") return AnchorSource::kPrevious;
  if (s == "none") return AnchorSource::kNone;
  Fail("unknown anchor source '{}' (first, previous, none)", s);
}

int64_t StarBlockInput(const DistConfig& cfg, std::span<const int32_t> context, int64_t block,
                       std::vector<int32_t>* tokens, std::vector<int32_t>* positions) {
  const int64_t L = static_cast<int64_t>(context.size());
  const int64_t b = cfg.block_size, a = cfg.anchor();
  const int64_t start = block * b, len = std::min(b, L - start);
  tokens->clear();
  positions->clear();
  if (block > 0 && cfg.anchor_source != AnchorSource::kNone) {
    // first: the first a tokens of the context; previous: the last a tokens before the block.
    const int64_t from = cfg.anchor_source == AnchorSource::kFirst ? 0 : start - a;
    tokens->assign(context.begin() + from, context.begin() + from + a);
    const int64_t pos0 = cfg.anchor_positions == AnchorPositions::kOriginal ? from : start - a;
    *positions = Range(pos0, a);
  }
  const int64_t n_anchor = static_cast<int64_t>(tokens->size());
  tokens->insert(tokens->end(), context.begin() + start, context.begin() + start + len);
  const auto block_pos = Range(start, len);
  positions->insert(positions->end(), block_pos.begin(), block_pos.end());
  return n_anchor;
}

ContextShare HostContextShare(const DistConfig& cfg, int64_t L, int hosts, int host) {
  ContextShare share;
  switch (cfg.mode) {
    case AttnMode::kDense:
      share.rows = L;
      break;
    case AttnMode::kStar: {
      const int64_t n_blocks = (L + cfg.block_size - 1) / cfg.block_size;
      const auto groups = BlockGroups(n_blocks, hosts);
      share.block_begin = groups[host];
      share.block_end = groups[host + 1];
      share.rows = std::min(L, share.block_end * cfg.block_size) -
                   share.block_begin * cfg.block_size;
      break;
    }
    case AttnMode::kRing:
      share.ring_chunks = RingChunks(L, hosts, host);
      share.rows = share.ring_chunks[0].len + share.ring_chunks[1].len;
      break;
  }
  return share;
}

std::vector<Chunk> RingChunks(int64_t L, int hosts, int host) {
  const int64_t n = 2 * hosts;
  auto bound = [&](int64_t i) { return i * (L / n) + std::min<int64_t>(i, L % n); };
  const int64_t a = host, b = n - 1 - host;
  return {{bound(a), bound(a + 1) - bound(a)}, {bound(b), bound(b + 1) - bound(b)}};
}

std::vector<int64_t> BlockGroups(int64_t n_blocks, int hosts) {
  std::vector<int64_t> bounds(hosts + 1, 0);
  for (int h = 0; h < hosts; ++h) {
    bounds[h + 1] = bounds[h] + n_blocks / hosts + (h < n_blocks % hosts ? 1 : 0);
  }
  return bounds;
}

void ValidateDistConfig(const DistConfig& cfg, int64_t L, int64_t query_len,
                        int64_t max_new_tokens, int64_t max_positions) {
  if (cfg.hosts < 1) Fail("--hosts must be at least 1, got {}", cfg.hosts);
  if (L <= 0) Fail("the context is empty");
  if (query_len <= 0) Fail("the query is empty");
  if (max_new_tokens < 0) Fail("tokens to generate must be >= 0, got {}", max_new_tokens);
  if (cfg.ubatch <= 0) Fail("ubatch must be positive, got {}", cfg.ubatch);
  if (L + query_len + max_new_tokens > max_positions) {
    Fail("context ({}) + query ({}) + tokens to generate ({}) = {} exceeds the model's maximum "
         "positions ({})",
         L, query_len, max_new_tokens, L + query_len + max_new_tokens, max_positions);
  }
  switch (cfg.mode) {
    case AttnMode::kDense:
      if (cfg.hosts != 1) Fail("dense attention runs on one host, got --hosts {}", cfg.hosts);
      break;
    case AttnMode::kStar: {
      if (cfg.block_size <= 0) Fail("star attention needs --block-size > 0, got {}", cfg.block_size);
      if (cfg.anchor_source != AnchorSource::kNone &&
          (cfg.anchor() <= 0 || cfg.anchor() > cfg.block_size)) {
        Fail("anchor size {} must be in [1, block size {}]", cfg.anchor(), cfg.block_size);
      }
      const int64_t n_blocks = (L + cfg.block_size - 1) / cfg.block_size;
      if (cfg.hosts > n_blocks) {
        Fail("{} hosts but the {}-token context has only {} blocks of {}", cfg.hosts, L, n_blocks,
             cfg.block_size);
      }
      break;
    }
    case AttnMode::kRing:
      if (L < 2 * cfg.hosts) {
        Fail("ring attention on {} hosts needs at least {} context tokens, got {}", cfg.hosts,
             2 * cfg.hosts, L);
      }
      break;
  }
}

std::vector<float> Phase2Logits(const Model& model, Communicator& comm, KvCache& host_cache,
                                std::span<const int32_t> query, int32_t first_position) {
  Phase2Attention attn(host_cache, comm, model.config(), model.attention_scale());
  return model.Forward(query, Range(first_position, query.size()), attn, LogitsFor::kAll);
}

SampleResult RunSample(const Model& model, Communicator& comm, const DistConfig& cfg,
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

  // This host's context rows.
  const ContextShare share = HostContextShare(cfg, L, H, me);
  const int64_t ctx_rows = share.rows, blk_begin = share.block_begin, blk_end = share.block_end;
  const std::vector<Chunk>& ring_chunks = share.ring_chunks;
  const int64_t capacity = ctx_rows + (query_host ? Q + opts.max_new_tokens : 0);
  KvCache cache(c, capacity);
  HostStats stats;
  stats.context_tokens = ctx_rows;

  // Phase 1: the context.
  auto t0 = Clock::now();
  int64_t transient = 0;
  switch (cfg.mode) {
    case AttnMode::kDense:
      PrefillInto(model, context, Range(0, L), cache, cfg.ubatch);
      break;
    case AttnMode::kStar:
      StarPhase1(model, cfg, context, blk_begin, blk_end, cache, &transient);
      break;
    case AttnMode::kRing: {
      std::vector<int32_t> tokens, positions;
      for (const Chunk& ch : ring_chunks) {
        tokens.insert(tokens.end(), context.begin() + ch.start,
                      context.begin() + ch.start + ch.len);
        const auto p = Range(ch.start, ch.len);
        positions.insert(positions.end(), p.begin(), p.end());
      }
      RingAttention ring(cache, comm, c, model.attention_scale(), L);
      model.Forward(tokens, positions, ring, LogitsFor::kNone);
      break;
    }
  }
  stats.phase1_seconds = Since(t0);

  // Phase 2: the query on every host, then greedy decoding; the query host's choice is final.
  auto t1 = Clock::now();
  Phase2Attention attn(cache, comm, c, model.attention_scale());
  std::vector<float> logits = model.Forward(query, Range(L, Q), attn, LogitsFor::kLast);
  stats.phase2_seconds = Since(t1);  // time to the first token's logits
  auto t2 = Clock::now();
  SampleResult result;
  result.first_logits = logits;
  result.generation = DecodeGreedy(
      std::move(logits), model.has_tokenizer() ? &model.tokenizer() : nullptr, opts,
      [&](int32_t token) {
        comm.Broadcast(&token, sizeof(token), H - 1);
        return token;
      },
      [&](int32_t token, int64_t index) {
        const int32_t pos = static_cast<int32_t>(L + Q + index);
        return model.Forward(std::span<const int32_t>(&token, 1),
                             std::span<const int32_t>(&pos, 1), attn, LogitsFor::kLast);
      });
  stats.decode_seconds = Since(t2);
  stats.kv_bytes = cache.used_bytes();
  stats.peak_kv_bytes = cache.reserved_bytes() + transient;

  result.hosts.resize(H);
  comm.AllGather(&stats, sizeof(HostStats), result.hosts.data());
  SetCriticalPaths(result);
  return result;
}

void SetCriticalPaths(SampleResult& r) {
  r.phase1_critical_seconds = r.phase2_critical_seconds = r.decode_critical_seconds = 0;
  double first_token = 0;  // when the last host has its phase-2 result
  for (const HostStats& s : r.hosts) {
    r.phase1_critical_seconds = std::max(r.phase1_critical_seconds, s.phase1_seconds);
    first_token = std::max(first_token, s.phase1_seconds + s.phase2_seconds);
    r.decode_critical_seconds = std::max(r.decode_critical_seconds, s.decode_seconds);
  }
  r.phase2_critical_seconds = first_token - r.phase1_critical_seconds;
}

HostStats Phase1Alone(const Model& model, const DistConfig& cfg,
                      std::span<const int32_t> context, int host) {
  const int64_t L = static_cast<int64_t>(context.size());
  if (cfg.mode == AttnMode::kRing) {
    Fail("ring's phase 1 exchanges K/V between hosts; its hosts cannot be timed alone");
  }
  if (host < 0 || host >= cfg.hosts) Fail("host {} outside 0..{}", host, cfg.hosts - 1);
  ValidateDistConfig(cfg, L, 1, 0, model.config().max_positions);
  const ContextShare share = HostContextShare(cfg, L, cfg.hosts, host);
  KvCache cache(model.config(), share.rows);
  HostStats stats;
  stats.context_tokens = share.rows;
  int64_t transient = 0;
  const auto t0 = Clock::now();
  if (cfg.mode == AttnMode::kDense) {
    PrefillInto(model, context, Range(0, L), cache, cfg.ubatch);
  } else {
    StarPhase1(model, cfg, context, share.block_begin, share.block_end, cache, &transient);
  }
  stats.phase1_seconds = Since(t0);
  stats.kv_bytes = cache.used_bytes();
  stats.peak_kv_bytes = cache.reserved_bytes() + transient;
  return stats;
}

SampleResult RunInProcess(const Model& model, const DistConfig& cfg,
                          std::span<const int32_t> context, std::span<const int32_t> query,
                          const GenerateOptions& opts) {
  if (cfg.hosts < 1) Fail("--hosts must be at least 1, got {}", cfg.hosts);
  InProcessGroup group(cfg.hosts);
  std::vector<SampleResult> results(cfg.hosts);
  const int threads_per_host = std::max(1, omp_get_max_threads() / cfg.hosts);
  RunHostThreads(cfg.hosts, [&](int h) {
    omp_set_num_threads(threads_per_host);
    results[h] = RunSample(model, group.Endpoint(h), cfg, context, query, opts);
  });
  return std::move(results.back());
}

void RunHostThreads(int hosts, const std::function<void(int host)>& body) {
  std::vector<std::exception_ptr> errors(hosts);
  std::vector<std::thread> threads;
  for (int h = 0; h < hosts; ++h) {
    threads.emplace_back([&, h] {
      try {
        body(h);
      } catch (...) {
        errors[h] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace starattn
