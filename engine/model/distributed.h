// One sample (context + query) across hosts, in one of three attention modes:
//   dense: one host, exact causal attention.
//   star:  phase 1 encodes the context in blocks, each but the first prefixed by an anchor,
//          blocks spread over hosts in contiguous groups, no communication; phase 2 runs the
//          query and generated tokens on every host and merges the per-host attention states
//          each layer (exact). The last host is the query host: it alone stores the query's and
//          generated tokens' K/V.
//   ring:  exact ring attention for the context with the causal load balanced (zigzag: host h
//          holds chunks h and 2H-1-h of 2H), then phase 2 as in star.
// Written once over the Backend and Communicator interfaces (engine/model/backend.h): every
// backend runs this driver, and every check of a configuration lives here. Every rank of the
// communicator calls RunSample with the same inputs.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/dist/communicator.h"
#include "engine/model/backend.h"
#include "engine/model/forward.h"
#include "engine/model/generate.h"
#include "engine/model/kv_cache.h"

namespace starattn {

enum class AttnMode { kDense, kStar, kRing };
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
  int64_t anchor() const { return anchor_size < 0 ? block_size : anchor_size; }
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
};

struct SampleResult {
  GenerateResult generation;
  std::vector<float> first_logits;     // [vocab] logits of the last query token
  std::vector<HostStats> hosts;        // every host's stats, on every rank
  double phase1_critical_seconds = 0;  // max over hosts
  double phase2_critical_seconds = 0;
  double decode_critical_seconds = 0;
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
// Returns the transient K/V bytes (star's anchor + block scratch cache).
int64_t Phase1Into(Transformer& t, Communicator* data, const DistConfig& cfg,
                   std::span<const int32_t> context, const ContextShare& share, KvCache& cache);

// Runs body(host) for host = 0..hosts-1, each on its own thread (one host: on the calling
// thread); after all have finished, rethrows the first host's exception, if any.
void RunHostThreads(int hosts, const std::function<void(int host)>& body);

// Phase 2 alone, for tests: the query over per-host caches that already hold context K/V (the
// last rank's cache also receives the query's K/V). Returns the logits of every query token
// [n_query, vocab].
std::vector<float> Phase2Logits(Backend& be, Communicator& data, KvCache& host_cache,
                                std::span<const int32_t> query, int32_t first_position);

}  // namespace starattn
