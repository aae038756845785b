#include "engine/model/distributed.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <functional>
#include <thread>

#include "engine/common/error.h"
#include "engine/model/forward.h"

namespace starattn {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Phase 2 attention on one host: the new tokens attend to this host's cache, the states of all
// hosts are all-gathered and merged. The query host (last rank) appends the new tokens' K/V and
// masks causally among them; context rows are fully visible to every new token on every host
// (a host with no rows contributes the empty state).
class Phase2Attention : public LayerAttention {
 public:
  Phase2Attention(Backend& be, KvCache& cache, Communicator& data)
      : be_(be), cache_(cache), data_(data), scale_(AttentionScale(be.config())) {}

  void Attend(int64_t layer, int64_t n, const void* q, const void* k, const void* v,
              void* out) override {
    const ModelConfig& c = be_.config();
    const int H = data_.size();
    const bool query_host = data_.rank() == H - 1;
    const int64_t rows = n * c.n_heads;  // (token, head) pairs
    const int64_t hd = c.head_dim;
    const int64_t past = cache_.size();
    AttnShape shape{n, past, c.n_heads, c.n_kv_heads, hd};
    AttnMask mask{false, 0, 0};
    if (query_host) {
      cache_.Write(layer, past, k, v, n);
      shape.n_kv = past + n;
      mask = {true, past, 0};
    }
    CountScores(c.n_heads * (query_host ? CausalPairs(past, n) : n * past));
    CountRead(shape.n_kv * cache_.row_bytes() * 2);
    if (H == 1) {
      be_.Attention(q, cache_.k(layer), cache_.v(layer), shape, mask, scale_, out, nullptr);
      return;
    }
    // Send buffer: out [n, n_heads, head_dim] (act_dtype) then lse [n, n_heads] (fp32).
    const int64_t out_bytes = rows * hd * DTypeBytes(be_.act_dtype());
    const int64_t lse_bytes = rows * static_cast<int64_t>(sizeof(float));
    const int64_t send_bytes = out_bytes + lse_bytes;
    Reserve(be_, send_, send_bytes, "phase-2 attention states");
    auto* my_lse = reinterpret_cast<float*>(send_.at(out_bytes));
    be_.Attention(q, cache_.k(layer), cache_.v(layer), shape, mask, scale_, send_.data(), my_lse);
    Reserve(be_, recv_, H * send_bytes, "phase-2 attention states");
    data_.AllGather(send_.data(), send_bytes, recv_.data());
    // Regroup [H, send_bytes] into outs [H, rows, hd] and lses [H, rows] for the merge.
    Reserve(be_, outs_, H * out_bytes, "phase-2 attention states");
    Reserve(be_, lses_, H * lse_bytes, "phase-2 attention states");
    Reserve(be_, merged_lse_, lse_bytes, "phase-2 attention states");
    be_.Copy2D(outs_.data(), out_bytes, recv_.data(), send_bytes, out_bytes, H);
    be_.Copy2D(lses_.data(), lse_bytes, recv_.at(out_bytes), send_bytes, lse_bytes, H);
    be_.MergeStates(outs_.data(), lses_.as<float>(), H, rows, hd, out, merged_lse_.as<float>());
  }

  void Finish(int64_t n) override {
    if (data_.rank() == data_.size() - 1) cache_.Resize(cache_.size() + n);
  }

 private:
  Backend& be_;
  KvCache& cache_;
  Communicator& data_;
  float scale_;
  Buffer send_, recv_, outs_, lses_, merged_lse_;
};

// Ring attention for the context: each host's queries (its two zigzag chunks) see every earlier
// context token exactly; K/V blocks travel around the ring in H - 1 SendRecv steps. The running
// state of each query chunk lives in two ping-pong buffers of [2, rows, head_dim] (slot 0: the
// state so far, slot 1: the newest partial), merged from one into slot 0 of the other.
class RingAttention : public LayerAttention {
 public:
  RingAttention(Backend& be, KvCache& cache, Communicator& data, int64_t L)
      : be_(be), cache_(cache), data_(data), scale_(AttentionScale(be.config())), L_(L) {}

  void Attend(int64_t layer, int64_t n, const void* q, const void* k, const void* v,
              void* out) override {
    const ModelConfig& c = be_.config();
    const int H = data_.size(), me = data_.rank();
    const int64_t row_bytes = cache_.row_bytes(), hd = c.head_dim, nh = c.n_heads;
    const int64_t act = DTypeBytes(be_.act_dtype());
    const std::vector<Chunk> mine = RingChunks(L_, H, me);
    if (mine[0].len + mine[1].len != n) {
      Fail("ring: host {} runs {} tokens but holds chunks of {} + {}", me, n, mine[0].len,
           mine[1].len);
    }
    // This host's context rows, chunk after chunk; they are also the first block in hand
    // (K then V, [rows, n_kv_heads, head_dim] each, in the cache's type).
    cache_.Write(layer, 0, k, v, n);
    int64_t block_rows = n;
    Reserve(be_, block_, 2 * n * row_bytes, "ring K/V blocks");
    be_.Copy(block_.data(), cache_.k(layer), n * row_bytes);
    be_.Copy(block_.at(n * row_bytes), cache_.v(layer), n * row_bytes);
    State st[2];
    for (int ci = 0; ci < 2; ++ci) {
      st[ci].rows = mine[ci].len * nh;
      for (int b = 0; b < 2; ++b) {
        Reserve(be_, state_out_[ci][b], 2 * st[ci].rows * hd * act, "ring attention states");
        Reserve(be_, state_lse_[ci][b], 2 * st[ci].rows * 4, "ring attention states");
      }
    }
    for (int step = 0; step < H; ++step) {
      const int owner = (me - step + H) % H;
      const std::vector<Chunk> theirs = RingChunks(L_, H, owner);
      const int64_t their_n = theirs[0].len + theirs[1].len;
      if (their_n != block_rows) {
        Fail("ring: host {} received a block of {} rows from host {}, expected {}", me, block_rows,
             owner, their_n);
      }
      const char* bk = block_.at(0);
      const char* bv = block_.at(their_n * row_bytes);
      int64_t q_row = 0;
      for (int ci = 0; ci < 2; ++ci) {
        const Chunk& qc = mine[ci];
        State& s = st[ci];
        int64_t k_row = 0;
        for (const Chunk& kc : theirs) {
          // Key chunks entirely after this query chunk are skipped (the causal half that the
          // zigzag placement balances).
          if (qc.len > 0 && kc.len > 0 && kc.start <= qc.start + qc.len - 1) {
            const int slot = s.empty ? 0 : 1;  // the first partial is the state itself
            void* part_out = state_out_[ci][s.cur].at(slot * s.rows * hd * act);
            float* part_lse = state_lse_[ci][s.cur].as<float>() + slot * s.rows;
            be_.Attention(static_cast<const char*>(q) + q_row * nh * hd * act,
                          bk + k_row * row_bytes, bv + k_row * row_bytes,
                          {qc.len, kc.len, nh, c.n_kv_heads, hd}, {true, qc.start, kc.start},
                          scale_, part_out, part_lse);
            CountScores(nh * qc.len * kc.len);
            if (!s.empty) {
              const int next = 1 - s.cur;
              be_.MergeStates(state_out_[ci][s.cur].data(), state_lse_[ci][s.cur].as<float>(), 2,
                              s.rows, hd, state_out_[ci][next].data(),
                              state_lse_[ci][next].as<float>());
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
        Reserve(be_, next_, 2 * next_rows * row_bytes, "ring K/V blocks");
        data_.SendRecv(block_.data(), 2 * block_rows * row_bytes, (me + 1) % H, next_.data(),
                       2 * next_rows * row_bytes, (me - 1 + H) % H);
        std::swap(block_, next_);
        block_rows = next_rows;
      }
    }
    // Every query chunk saw at least its own diagonal block (L >= 2H: no chunk is empty).
    int64_t q_row = 0;
    for (int ci = 0; ci < 2; ++ci) {
      if (st[ci].empty) Fail("ring: query chunk {} of host {} saw no keys", ci, me);
      be_.Copy(static_cast<char*>(out) + q_row * nh * hd * act, state_out_[ci][st[ci].cur].data(),
               st[ci].rows * hd * act);
      q_row += mine[ci].len;
    }
  }

  void Finish(int64_t n) override { cache_.Resize(n); }

 private:
  struct State {
    int64_t rows = 0;  // (token, head) pairs of the query chunk
    int cur = 0;       // the ping-pong buffer holding the state
    bool empty = true;
  };

  Backend& be_;
  KvCache& cache_;
  Communicator& data_;
  float scale_;
  int64_t L_;
  Buffer block_, next_;
  Buffer state_out_[2][2], state_lse_[2][2];
};

// The prefill of the sparse and streaming modes: the new tokens' K/V are appended after the
// cached rows, and they attend to them under the layer's per-head patterns (and causally).
class SparseCacheAttention : public LayerAttention {
 public:
  SparseCacheAttention(Backend& be, KvCache& cache, const SparseSpec& spec)
      : be_(be),
        cache_(cache),
        spec_(spec),
        scale_(AttentionScale(be.config())),
        patterns_(be.config().n_heads) {}
  void Attend(int64_t layer, int64_t n, const void* q, const void* k, const void* v,
              void* out) override {
    const ModelConfig& c = be_.config();
    const int64_t past = cache_.size();
    cache_.Write(layer, past, k, v, n);
    const SparseMask mask = spec_.LayerMask(layer, &patterns_);
    be_.SparseAttention(q, cache_.k(layer), cache_.v(layer),
                        {n, past + n, c.n_heads, c.n_kv_heads, c.head_dim}, {true, past, 0}, mask,
                        scale_, out, nullptr, scores);
  }
  void Finish(int64_t n) override { cache_.Resize(cache_.size() + n); }

 private:
  Backend& be_;
  KvCache& cache_;
  const SparseSpec& spec_;
  float scale_;
  std::vector<HeadPattern> patterns_;
};

// Decoding with a top-k KV cache (one host): each new token's K/V is appended; the cache's rows
// are sink, whole context blocks and at least `recency` recent rows, and a block's min/max key
// summary is made (per layer) when its rows leave the recency window. Each token attends to the
// sink, its top-k context blocks and the recency rows.
class TopkDecodeAttention : public LayerAttention {
 public:
  TopkDecodeAttention(Backend& be, KvCache& cache, const DistConfig& cfg)
      : be_(be),
        cache_(cache),
        cfg_(cfg),
        scale_(AttentionScale(be.config())),
        summaries_(be.config().n_layers),
        made_(be.config().n_layers, 0) {
    const ModelConfig& c = be.config();
    max_blocks_ = std::max<int64_t>(cfg.TopkContextBlocks(cache.capacity()), 1);
    for (auto& s : summaries_) {
      // kmin then kmax, each [max_blocks, n_kv_heads, head_dim]
      s = be.Alloc(2 * max_blocks_ * c.n_kv_heads * c.head_dim * 4, "top-k KV block summaries");
    }
  }
  void Attend(int64_t layer, int64_t n, const void* q, const void* k, const void* v,
              void* out) override {
    const ModelConfig& c = be_.config();
    const int64_t past = cache_.size();
    cache_.Write(layer, past, k, v, n);
    const int64_t rows = past + n;
    // Until sink + recency + one block are cached there is no context block: every row is sink
    // (at most the rows there are) or recency, attended exactly.
    const int64_t blocks = cfg_.TopkContextBlocks(rows);
    const int64_t per_block = c.n_kv_heads * c.head_dim;
    float* kmin = summaries_[layer].as<float>();
    float* kmax = kmin + max_blocks_ * per_block;
    for (; made_[layer] < blocks; ++made_[layer]) {
      const int64_t b = made_[layer];
      be_.KeyMinMax(cache_.k_at(layer, cfg_.topk_sink + b * cfg_.topk_block), cfg_.topk_block,
                    kmin + b * per_block, kmax + b * per_block);
    }
    be_.TopkKvAttention(q, cache_.k(layer), cache_.v(layer),
                        {n, rows, c.n_heads, c.n_kv_heads, c.head_dim}, {true, past, 0},
                        std::min(cfg_.topk_sink, rows), cfg_.topk_block, blocks, kmin, kmax,
                        cfg_.TopkBlocks(rows), scale_, out, nullptr, kv_read);
    CountScores(c.n_heads * CausalPairs(past, n));
  }
  void Finish(int64_t n) override { cache_.Resize(cache_.size() + n); }

 private:
  Backend& be_;
  KvCache& cache_;
  const DistConfig& cfg_;
  float scale_;
  int64_t max_blocks_ = 0;
  std::vector<Buffer> summaries_;  // per layer
  std::vector<int64_t> made_;      // per layer: context blocks summarised so far
};

// Star phase 1 on this host: its blocks, each encoded with its anchor in a scratch cache; the
// block's K/V are kept, the anchor's discarded. Returns the scratch cache's reserved bytes.
int64_t StarPhase1(Transformer& t, const DistConfig& cfg, std::span<const int32_t> context,
                   int64_t block_begin, int64_t block_end, KvCache& cache, int64_t* scores) {
  Backend& be = t.backend();
  const int64_t L = static_cast<int64_t>(context.size());
  const int64_t b = cfg.block_size, a = cfg.anchor();
  KvCache scratch(be, a + b);
  std::vector<int32_t> tokens, positions;
  for (int64_t blk = block_begin; blk < block_end; ++blk) {
    const int64_t len = std::min(b, L - blk * b);
    const int64_t n_anchor = StarBlockInput(cfg, context, blk, &tokens, &positions);
    scratch.Resize(0);
    CacheAttention attn(be, scratch);
    attn.scores = scores;
    Prefill(t, tokens, positions, attn, cfg.ubatch, /*greedy=*/false);
    cache.CopyRows(scratch, n_anchor, cache.size(), len);
    cache.Resize(cache.size() + len);
  }
  return scratch.reserved_bytes();
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
    case AttnMode::kStreaming:
      return "streaming";
    case AttnMode::kBlockSparse:
      return "block-sparse";
    case AttnMode::kTopkKv:
      return "topk-kv";
  }
  return "?";
}
AttnMode ParseAttnMode(std::string_view s) {
  if (s == "dense") return AttnMode::kDense;
  if (s == "star") return AttnMode::kStar;
  if (s == "ring") return AttnMode::kRing;
  if (s == "streaming") return AttnMode::kStreaming;
  if (s == "block-sparse") return AttnMode::kBlockSparse;
  if (s == "topk-kv") return AttnMode::kTopkKv;
  Fail("unknown attention mode '{}' (dense, star, ring, streaming, block-sparse, topk-kv)", s);
}

int64_t DistConfig::TopkContextBlocks(int64_t rows) const {
  if (topk_block <= 0) return 0;
  return std::max<int64_t>(0, (rows - topk_sink - topk_recency) / topk_block);
}

int64_t DistConfig::TopkBlocks(int64_t rows) const {
  const int64_t blocks = TopkContextBlocks(rows);
  if (topk > 0) return std::min(topk, blocks);
  return static_cast<int64_t>(std::ceil(topk_fraction * static_cast<double>(blocks) - 1e-9));
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
    case AttnMode::kStreaming:
    case AttnMode::kBlockSparse:
    case AttnMode::kTopkKv:
      share.rows = L;
      break;
    case AttnMode::kStar: {
      const int64_t n_blocks = (L + cfg.block_size - 1) / cfg.block_size;
      const auto groups = BlockGroups(n_blocks, hosts);
      share.block_begin = groups[host];
      share.block_end = groups[host + 1];
      share.rows =
          std::min(L, share.block_end * cfg.block_size) - share.block_begin * cfg.block_size;
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

void ValidateDistConfig(const DistConfig& cfg, int64_t L, int64_t query_len, int64_t max_new_tokens,
                        int64_t max_positions) {
  if (cfg.hosts < 1) Fail("--hosts must be at least 1, got {}", cfg.hosts);
  if (L <= 0) Fail("the context is empty");
  if (query_len <= 0) Fail("the query is empty");
  if (max_new_tokens < 0) Fail("tokens to generate must be >= 0, got {}", max_new_tokens);
  if (cfg.ubatch <= 0) Fail("ubatch must be positive, got {}", cfg.ubatch);
  if (L + query_len + max_new_tokens > max_positions) {
    Fail(
        "context ({}) + query ({}) + tokens to generate ({}) = {} exceeds the model's maximum "
        "positions ({})",
        L, query_len, max_new_tokens, L + query_len + max_new_tokens, max_positions);
  }
  switch (cfg.mode) {
    case AttnMode::kDense:
      if (cfg.hosts != 1) Fail("dense attention runs on one host, got --hosts {}", cfg.hosts);
      break;
    case AttnMode::kStar: {
      if (cfg.block_size <= 0)
        Fail("star attention needs --block-size > 0, got {}", cfg.block_size);
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
    case AttnMode::kStreaming:
    case AttnMode::kBlockSparse:
      if (cfg.hosts != 1) {
        Fail("{} attention runs on one host, got --hosts {}", AttnModeName(cfg.mode), cfg.hosts);
      }
      if (cfg.sparse == nullptr) {
        Fail("{} attention needs its patterns (--sink/--local, --density or --mask-file)",
             AttnModeName(cfg.mode));
      }
      break;
    case AttnMode::kTopkKv: {
      if (cfg.hosts != 1) Fail("topk-kv attention runs on one host, got --hosts {}", cfg.hosts);
      if (cfg.topk_block <= 0) Fail("--topk-block must be positive, got {}", cfg.topk_block);
      if (cfg.topk_sink < 0) Fail("--topk-sink must be >= 0, got {}", cfg.topk_sink);
      if (cfg.topk_recency < 0) Fail("--recency must be >= 0, got {}", cfg.topk_recency);
      if ((cfg.topk > 0) == (cfg.topk_fraction > 0)) {
        Fail("topk-kv needs one of --topk (blocks) or --topk-fraction, got {} and {}", cfg.topk,
             cfg.topk_fraction);
      }
      if (cfg.topk < 0) Fail("--topk must be positive, got {}", cfg.topk);
      if (cfg.topk_fraction < 0 || cfg.topk_fraction > 1) {
        Fail("--topk-fraction must be in (0, 1], got {}", cfg.topk_fraction);
      }
      // The context blocks once the prompt is in the cache; decoding only adds to them.
      const int64_t blocks = cfg.TopkContextBlocks(L + query_len);
      if (cfg.topk > blocks) {
        Fail(
            "--topk {} exceeds the {} context blocks of {} tokens ({} + {} prompt tokens, sink "
            "{}, recency {})",
            cfg.topk, blocks, cfg.topk_block, L, query_len, cfg.topk_sink, cfg.topk_recency);
      }
      break;
    }
  }
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

int64_t Phase1Into(Transformer& t, Communicator* data, const DistConfig& cfg,
                   std::span<const int32_t> context, const ContextShare& share, KvCache& cache,
                   int64_t* scores) {
  Backend& be = t.backend();
  const int64_t L = static_cast<int64_t>(context.size());
  switch (cfg.mode) {
    case AttnMode::kDense:
    case AttnMode::kTopkKv: {
      CacheAttention attn(be, cache);
      attn.scores = scores;
      Prefill(t, context, Range(0, L), attn, cfg.ubatch, /*greedy=*/false);
      return 0;
    }
    case AttnMode::kStreaming:
    case AttnMode::kBlockSparse: {
      SparseCacheAttention attn(be, cache, *cfg.sparse);
      attn.scores = scores;
      Prefill(t, context, Range(0, L), attn, cfg.ubatch, /*greedy=*/false);
      return 0;
    }
    case AttnMode::kStar:
      return StarPhase1(t, cfg, context, share.block_begin, share.block_end, cache, scores);
    case AttnMode::kRing: {
      std::vector<int32_t> tokens, positions;
      for (const Chunk& ch : share.ring_chunks) {
        tokens.insert(tokens.end(), context.begin() + ch.start,
                      context.begin() + ch.start + ch.len);
        const auto p = Range(ch.start, ch.len);
        positions.insert(positions.end(), p.begin(), p.end());
      }
      if (data == nullptr) Fail("ring's phase 1 needs the hosts' communicator");
      RingAttention ring(be, cache, *data, L);
      ring.scores = scores;
      t.Forward(tokens, positions, ring, LogitsFor::kNone);
      return 0;
    }
  }
  return 0;
}

std::vector<float> Phase2Logits(Backend& be, Communicator& data, KvCache& host_cache,
                                std::span<const int32_t> query, int32_t first_position) {
  Transformer t(be);
  Phase2Attention attn(be, host_cache, data);
  return t.Forward(query, Range(first_position, static_cast<int64_t>(query.size())), attn,
                   LogitsFor::kAll);
}

SampleResult RunSample(Backend& be, Communicator& host, Communicator& data, const DistConfig& cfg,
                       std::span<const int32_t> context, std::span<const int32_t> query,
                       const GenerateOptions& opts) {
  const ModelConfig& c = be.config();
  const int64_t L = static_cast<int64_t>(context.size());
  const int64_t Q = static_cast<int64_t>(query.size());
  if (host.size() != cfg.hosts || data.size() != cfg.hosts || data.rank() != host.rank()) {
    Fail("--hosts {} does not match the {} communicator's {} ranks", cfg.hosts, host.kind(),
         host.size());
  }
  ValidateDistConfig(cfg, L, Q, opts.max_new_tokens, c.max_positions);
  if (cfg.sparse != nullptr) cfg.sparse->Validate(c, L + Q);
  const int me = host.rank(), H = host.size();
  const bool query_host = me == H - 1;
  const ContextShare share = HostContextShare(cfg, L, H, me);
  KvCache cache(be, share.rows + (query_host ? Q + opts.max_new_tokens : 0));
  Transformer t(be);
  HostStats stats;
  stats.context_tokens = share.rows;
  const bool sparse = cfg.mode == AttnMode::kStreaming || cfg.mode == AttnMode::kBlockSparse;

  // Phase 1: the context.
  const auto t0 = Clock::now();
  const int64_t transient = Phase1Into(t, &data, cfg, context, share, cache, &stats.prefill_scores);
  be.Synchronize();
  stats.phase1_seconds = Since(t0);

  // Phase 2: the query on every host (under the patterns in the sparse modes), then greedy
  // decoding; the query host's choice is final.
  const auto t1 = Clock::now();
  Phase2Attention attn(be, cache, data);
  std::unique_ptr<LayerAttention> query_attn;
  if (sparse) query_attn = std::make_unique<SparseCacheAttention>(be, cache, *cfg.sparse);
  LayerAttention& prefill = query_attn != nullptr ? *query_attn : attn;
  prefill.scores = &stats.prefill_scores;
  SampleResult result;
  // The first token's logits come back whole; later tokens only as the backend's argmax.
  result.first_logits = t.Forward(query, Range(L, Q), prefill, LogitsFor::kLast);
  stats.phase2_seconds = Since(t1);  // time to the first token's logits
  stats.prefill_attention_seconds = t.attention_seconds();
  const auto t2 = Clock::now();
  std::unique_ptr<LayerAttention> topk;
  if (cfg.mode == AttnMode::kTopkKv) topk = std::make_unique<TopkDecodeAttention>(be, cache, cfg);
  LayerAttention& decode = topk != nullptr ? *topk : attn;
  decode.scores = nullptr;
  decode.kv_read = &stats.decode_kv_bytes;
  const Model& m = be.model();
  int64_t decode_steps = 0;  // forward passes of decoding (a stop at EOS follows one)
  result.generation = DecodeGreedy(
      ArgmaxHost(result.first_logits), m.has_tokenizer() ? &m.tokenizer() : nullptr, opts,
      [&](int32_t token) {
        host.Broadcast(&token, sizeof(token), H - 1);
        return token;
      },
      [&](int32_t token, int64_t index) {
        ++decode_steps;
        const int32_t pos = static_cast<int32_t>(L + Q + index);
        return t.ForwardGreedy(std::span<const int32_t>(&token, 1),
                               std::span<const int32_t>(&pos, 1), decode);
      });
  be.Synchronize();
  stats.decode_seconds = Since(t2);
  stats.decode_attention_seconds = t.attention_seconds() - stats.prefill_attention_seconds;
  stats.kv_bytes = cache.used_bytes();
  stats.peak_kv_bytes = cache.reserved_bytes() + transient;

  // What dense attention computes and reads for the same sample: causal scores over the prompt,
  // and every cached row's K/V at each decode step (the step's own token included).
  const int64_t T = L + Q, steps = decode_steps;
  result.dense_prefill_scores = c.n_layers * c.n_heads * CausalPairs(0, T);
  const int64_t row_bytes = c.n_kv_heads * c.head_dim * DTypeBytes(be.kv_dtype());
  result.dense_decode_kv_bytes =
      c.n_layers * 2 * row_bytes * (steps * (T + 1) + steps * (steps - 1) / 2);

  result.hosts.resize(H);
  host.AllGather(&stats, sizeof(HostStats), result.hosts.data());
  SetCriticalPaths(result);
  return result;
}

HostStats Phase1Alone(DeviceModel& dm, const DistConfig& cfg, std::span<const int32_t> context,
                      int host) {
  const int64_t L = static_cast<int64_t>(context.size());
  if (cfg.mode == AttnMode::kRing) {
    Fail("ring's phase 1 exchanges K/V between hosts; its hosts cannot be timed alone");
  }
  if (host < 0 || host >= cfg.hosts) Fail("host {} outside 0..{}", host, cfg.hosts - 1);
  ValidateDistConfig(cfg, L, 1, 0, dm.model().config().max_positions);
  const ContextShare share = HostContextShare(cfg, L, cfg.hosts, host);
  const std::unique_ptr<Backend> be = dm.NewHost(1);
  KvCache cache(*be, share.rows);
  Transformer t(*be);
  HostStats stats;
  stats.context_tokens = share.rows;
  const auto t0 = Clock::now();
  const int64_t transient = Phase1Into(t, nullptr, cfg, context, share, cache, nullptr);
  be->Synchronize();
  stats.phase1_seconds = Since(t0);
  stats.kv_bytes = cache.used_bytes();
  stats.peak_kv_bytes = cache.reserved_bytes() + transient;
  return stats;
}

SampleResult RunInProcess(DeviceModel& dm, const DistConfig& cfg, std::span<const int32_t> context,
                          std::span<const int32_t> query, const GenerateOptions& opts) {
  if (cfg.hosts < 1) Fail("--hosts must be at least 1, got {}", cfg.hosts);
  const std::unique_ptr<HostGroup> group = dm.NewInProcessGroup(cfg.hosts);
  std::vector<SampleResult> results(cfg.hosts);
  RunHostThreads(cfg.hosts, [&](int h) {
    const std::unique_ptr<Backend> be = dm.NewHost(cfg.hosts);
    results[h] = RunSample(*be, group->Host(h), group->Data(h, *be), cfg, context, query, opts);
  });
  return std::move(results.back());
}

void RunHostThreads(int hosts, const std::function<void(int host)>& body) {
  // One host runs on the calling thread: a second thread would start a second OpenMP pool, and
  // libgomp cuts its spin-wait short when it manages more threads than there are CPUs, so the
  // workers sleep between the many short parallel regions of decoding.
  if (hosts == 1) return body(0);
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
