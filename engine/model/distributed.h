// One sample (context + query) across hosts, in one of these attention modes:
//   dense: one host, exact causal attention.
//   star:  phase 1 encodes the context in blocks, each but the first prefixed by an anchor,
//          blocks spread over hosts in contiguous groups, no communication; phase 2 runs the
//          query and generated tokens on every host and merges the per-host attention states
//          each layer (exact). The last host is the query host: it alone stores the query's and
//          generated tokens' K/V.
//   ring:  exact ring attention for the context with the causal load balanced (zigzag: host h
//          holds chunks h and 2H-1-h of 2H), then phase 2 as in star.
//   streaming, block-sparse: one host; the context and the query are prefilled under per-head
//          sparse patterns (engine/model/sparse_spec.h: StreamingLLM sink + local windows,
//          Block-Sparse-Attention's masks, a built-in estimator); decoding attends to every row.
//   topk-kv: one host; dense prefill, then each decode step attends to the first `sink` rows,
//          the top-k context blocks by their Quest bound and the `recency` last rows (engine/cpu/
//          topk_kv.h); the cache keeps every row.
// Written once over the Backend and Communicator interfaces (engine/model/backend.h): every
// backend runs this driver, and every check of a configuration lives here. Every rank of the
// communicator calls RunSample with the same inputs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/dist/communicator.h"
#include "engine/model/backend.h"
#include "engine/model/forward.h"
#include "engine/model/generate.h"
#include "engine/model/kv_cache.h"
#include "engine/model/sparse_spec.h"

namespace starattn {

enum class AttnMode { kDense, kStar, kRing, kStreaming, kBlockSparse, kTopkKv };
enum class AnchorPositions { kOriginal, kShifted };
enum class AnchorSource { kFirst, kPrevious, kNone };

std::string_view AttnModeName(AttnMode m);
AttnMode ParseAttnMode(std::string_view s);
std::string_view AnchorPositionsName(AnchorPositions p);
AnchorPositions ParseAnchorPositions(std::string_view s);
std::string_view AnchorSourceName(AnchorSource s);
AnchorSource ParseAnchorSource(std::string_view s);

struct DistConfig {
  AttnMode mode = AttnMode::kDense;
  int hosts = 1;
  int64_t block_size = 0;    // star: tokens per context block
  int64_t anchor_size = -1;  // star: anchor tokens; -1 = block size
  AnchorPositions anchor_positions = AnchorPositions::kOriginal;
  AnchorSource anchor_source = AnchorSource::kFirst;
  int64_t ubatch = 512;  // tokens per forward chunk in phase 1 / dense prefill
  // streaming, block-sparse: the patterns of the prefill (context and query).
  std::shared_ptr<const SparseSpec> sparse;
  // topk-kv: sink rows, context blocks of topk_block rows, at least topk_recency last rows; the
  // top topk context blocks per step, or ceil(topk_fraction x context blocks).
  int64_t topk_sink = 0;
  int64_t topk_block = 128;
  int64_t topk_recency = 0;
  int64_t topk = 0;
  double topk_fraction = 0;
  int64_t anchor() const { return anchor_size < 0 ? block_size : anchor_size; }
  // topk-kv: context blocks chosen per step when `rows` rows are cached (0 when none fit).
  int64_t TopkBlocks(int64_t rows) const;
  int64_t TopkContextBlocks(int64_t rows) const;
};

// Throws Error with a one-line message for impossible configurations: block size 0, anchor >
// block, hosts > blocks, dense on several hosts, ring with fewer than 2H context tokens,
// context + query + tokens to generate beyond the model's positions, an empty context or query.
void ValidateDistConfig(const DistConfig& cfg, int64_t context_len, int64_t query_len,
                        int64_t max_new_tokens, int64_t max_positions);

// Contiguous groups of blocks per host as numpy.array_split does: the first (n % H) hosts get
// one block more. Returns [H + 1] block boundaries.
std::vector<int64_t> BlockGroups(int64_t n_blocks, int hosts);

// A contiguous run of context tokens: [start, start + len).
struct Chunk {
  int64_t start = 0;
  int64_t len = 0;
};

// Ring attention's zigzag placement: the context of L tokens in 2H near-equal chunks; host h
// holds chunks h and 2H-1-h (in that order).
std::vector<Chunk> RingChunks(int64_t L, int hosts, int host);

// The context a host holds after phase 1: all of it (dense), blocks [block_begin, block_end)
// (star: BlockGroups), or its two zigzag chunks (ring: RingChunks). `rows` tokens in all.
struct ContextShare {
  int64_t rows = 0;
  int64_t block_begin = 0, block_end = 0;  // star
  std::vector<Chunk> ring_chunks;          // ring
};
ContextShare HostContextShare(const DistConfig& cfg, int64_t context_len, int hosts, int host);

// Star phase 1's input for block `block`: the anchor (per cfg.anchor_source and
// cfg.anchor_positions; none for the first block) followed by the block's tokens at their global
// positions. Returns the number of anchor tokens at the front (their K/V are discarded).
int64_t StarBlockInput(const DistConfig& cfg, std::span<const int32_t> context, int64_t block,
                       std::vector<int32_t>* tokens, std::vector<int32_t>* positions);

struct HostStats {
  double phase1_seconds = 0;   // context encoding
  double phase2_seconds = 0;   // query prefill to the first token
  double decode_seconds = 0;   // the remaining tokens
  int64_t context_tokens = 0;  // context rows this host holds
  int64_t kv_bytes = 0;        // K/V held at the end (all layers)
  int64_t peak_kv_bytes = 0;   // including phase 1's transient anchor/block cache
  // Attention work, all layers: (query, query head, key) scores computed while prefilling the
  // context and the query (star counts its anchors', ring its whole tiles, sparse modes what
  // their kernels computed), and the K/V bytes (and top-k summaries) decoding read.
  int64_t prefill_scores = 0;
  int64_t decode_kv_bytes = 0;
  // Wall time inside attention while prefilling (context and query) and decoding.
  double prefill_attention_seconds = 0;
  double decode_attention_seconds = 0;
};

struct SampleResult {
  GenerateResult generation;
  std::vector<float> first_logits;     // [vocab] logits of the last query token
  std::vector<HostStats> hosts;        // every host's stats, on every rank
  double phase1_critical_seconds = 0;  // max over hosts
  double phase2_critical_seconds = 0;
  double decode_critical_seconds = 0;
  // What dense attention would compute for the same sample (HostStats' measures over all hosts
  // are relative to these): causal scores of the prefill, and the K/V bytes of the decode steps.
  int64_t dense_prefill_scores = 0;
  int64_t dense_decode_kv_bytes = 0;
};

// Fills the critical paths from the hosts' stats: phase 1 = the slowest host's phase 1; phase 2
// = from the end of phase 1's critical path to the last host's phase-2 result (a host that
// finished phase 1 early counts its wait at phase 2's first collective in its phase2_seconds,
// which this excludes); decode = the slowest host's decoding.
void SetCriticalPaths(SampleResult& r);

// One host's part of a sample: `host` carries host memory (tokens, statistics), `data` the
// backend's memory (attention states, K/V blocks); for the CPU they are one communicator.
SampleResult RunSample(Backend& be, Communicator& host, Communicator& data, const DistConfig& cfg,
                       std::span<const int32_t> context, std::span<const int32_t> query,
                       const GenerateOptions& opts);

// Runs the sample on cfg.hosts logical hosts in this process (one thread each, sharing the
// hardware) and returns the query host's result.
SampleResult RunInProcess(DeviceModel& dm, const DistConfig& cfg, std::span<const int32_t> context,
                          std::span<const int32_t> query, const GenerateOptions& opts);

// Phase 1 of one host (dense: the whole context; star: its blocks) run alone on the whole
// hardware. Star phase 1 has no communication, so each host timed alone gives the phase-1
// critical path of H such machines (bench --isolated-hosts). Ring's phase 1 communicates: an
// Error.
HostStats Phase1Alone(DeviceModel& dm, const DistConfig& cfg, std::span<const int32_t> context,
                      int host);

// Phase 1 of one host for every mode: the host's context rows (`share`) into `cache` (which must
// hold them). `data` (the hosts' communicator over backend memory) is needed by ring only.
// Returns the transient K/V bytes (star's anchor + block scratch cache). Adds the attention
// scores it computed to *scores (may be null).
int64_t Phase1Into(Transformer& t, Communicator* data, const DistConfig& cfg,
                   std::span<const int32_t> context, const ContextShare& share, KvCache& cache,
                   int64_t* scores = nullptr);

// Runs body(host) for host = 0..hosts-1, each on its own thread (one host: on the calling
// thread); after all have finished, rethrows the first host's exception, if any.
void RunHostThreads(int hosts, const std::function<void(int host)>& body);

// Phase 2 alone, for tests: the query over per-host caches that already hold context K/V (the
// last rank's cache also receives the query's K/V). Returns the logits of every query token
// [n_query, vocab].
std::vector<float> Phase2Logits(Backend& be, Communicator& data, KvCache& host_cache,
                                std::span<const int32_t> query, int32_t first_position);

}  // namespace starattn
