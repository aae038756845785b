// Internal to the CPU attention kernels (attention.cc, sparse_attention.cc, topk_kv.cc), not a
// public API: the work item of a flash-style kernel and its pieces, shared so that the dense,
// sparse and top-k kernels run the same arithmetic.
//
// A work item is a set of (query, head) rows sharing one kv head (Rows) and a list of key
// tiles (KeyTile: up to kTk keys made of runs of consecutive keys). For each tile the item
// computes the scaled scores of all its rows (Scores), the caller hides the keys each query does
// not see (HideKeys), and the online softmax and the value accumulation follow (Accumulate);
// Finish writes the attention state {out, lse} (engine/cpu/attention_state.h). Precision and
// paths: engine/cpu/attention.h.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "engine/common/attention_shape.h"
#include "engine/cpu/attention.h"

namespace starattn::cpu::tile {

// Queries per work item (at most), keys per tile: runs never cross a multiple of kTk (the
// packed bf16 tiles) and hold at most kTk keys.
constexpr int64_t kTq = 32;
constexpr int64_t kTk = 256;  // a multiple of 32: the bf16 kernels take 32 keys at a time
// Items of at most this many (query, head) rows (decode) take Path::kSmall.
constexpr int64_t kSmallRows = 16;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

int64_t KvBytes(KvType kv);

// dst: [D] fp32 = the D elements of type kv at src (exact conversion).
void LoadRow(const void* src, KvType kv, int64_t D, float* dst);

// The operands of one attention call.
struct Operands {
  const float* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  KvType kv = KvType::kF32;
  AttnShape s;
  AttnMask mask;
  float scale = 1;
  // bf16 operands through the AVX512-BF16 kernels, on K/V packed once per call (PackKv):
  bool bf16_simd = false;
  const uint16_t* kp = nullptr;  // [n_kv_heads, n_tiles, D / 2, kTk, 2]
  const uint16_t* vp = nullptr;  // [n_kv_heads, n_tiles, kTk / 2, D, 2]
  int64_t G = 0, D = 0, kv_stride = 0, q_stride = 0, n_tiles = 0;
};
Operands MakeOperands(const float* q, const void* k, const void* v, KvType kv, const AttnShape& s,
                      const AttnMask& mask, float scale, bool bf16_simd);

// Packed K/V of one call. The buffers are not zeroed: PackKv writes every element of the tiles it
// packs (zeros past n_kv), and the tiles it skips are never read, so their pages are never touched.
struct PackedKv {
  std::unique_ptr<uint16_t[]> k, v;
};
// Packs the key tiles of every kv head for the AVX512-BF16 kernels (zeros past n_kv) into `buf`
// and points P->kp, P->vp at them: every tile, or, with `need` ([n_kv_heads * n_tiles], nonzero =
// packed), only those the call's items read (sparse patterns). Parallel over the calling
// thread's OpenMP threads.
void PackKv(Operands* P, PackedKv* buf, const std::vector<uint8_t>* need = nullptr);

// How an item computes: AVX512-BF16 kernels on packed K/V; fp32 dot products per row on K/V
// read in place (decode-sized items); fp32 Eigen GEMMs (on converted tiles for fp16/bf16 K/V).
enum class Path { kBf16, kSmall, kGemm };
Path ChoosePath(const Operands& P, int64_t rows);

// The rows of an item: row r = ii * nh + t holds query i0 + ii of head heads[t]; the heads
// share kv head kvh.
struct Rows {
  int64_t kvh = 0, i0 = 0, nq = 0;
  const int64_t* heads = nullptr;
  int64_t nh = 0;
  int64_t count() const { return nq * nh; }
};

// Keys [j0, j0 + nk) of the call.
struct KeyRun {
  int64_t j0 = 0, nk = 0;
};

// The keys of one softmax step: runs (segments) side by side in the score columns, segment t
// in columns [col[t], col[t] + seg[t].nk). No segment crosses a multiple of kTk (the packed
// bf16 tiles); every segment but the last holds a multiple of 32 keys (the bf16 kernels compute
// 32 columns at a time).
struct KeyTile {
  static constexpr int kMaxSegments = 8;
  KeyRun seg[kMaxSegments];
  int64_t col[kMaxSegments] = {};
  int n = 0;
  int64_t width = 0;  // columns in use
};

// Packs runs (each inside one kTk tile, as AppendRun makes them) into as few tiles as the
// rules above allow, in order; runs are split at multiples of 32 keys from their start.
std::vector<KeyTile> MakeTiles(const std::vector<KeyRun>& runs);

// Thread-local buffers of one work item (at most kTq * G rows).
struct Scratch {
  explicit Scratch(const Operands& P);
  using MatR = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  MatR qt, s, o;              // [R, D], [R, kTk], [R, D] fp32
  Eigen::VectorXf m, l;       // [R] running max and sum
  std::vector<float> kf, vf;  // [kTk, D] fp32 K/V tile (converted)
  std::vector<uint16_t> qb;   // [R, D] bf16
  std::vector<uint16_t> pb;   // [R, kTk]
};

// Loads the rows' queries and empties their state.
void Begin(const Operands& P, Path path, const Rows& rows, Scratch& w);
// w.s[r][col[t] + j] = scale * dot(q_r, K_{seg[t].j0 + j}) for every segment t and j < nk.
void Scores(const Operands& P, Path path, const Rows& rows, const KeyTile& tile, Scratch& w);
// The online softmax over w.s (hidden keys: -inf) and the values of the tile.
void Accumulate(const Operands& P, Path path, const Rows& rows, const KeyTile& tile, Scratch& w);
// Writes out[i, h, :] and lse[i, h] (lse may be null) of every row: [n_q, n_heads, D] and
// [n_q, n_heads] at query index i0 + ii.
void Finish(const Operands& P, const Rows& rows, const Scratch& w, float* out, float* lse);

// Hides keys [a, b) of a segment (segment-relative, clipped to [0, nk)) at column col from
// query ii's rows.
inline void HideKeys(Scratch& w, const Rows& rows, int64_t ii, int64_t col, int64_t nk, int64_t a,
                     int64_t b) {
  a = a < 0 ? 0 : a;
  b = b > nk ? nk : b;
  if (a >= b) return;
  for (int64_t t = 0; t < rows.nh; ++t) {
    float* s = w.s.data() + (ii * rows.nh + t) * kTk + col;
    for (int64_t j = a; j < b; ++j) s[j] = kNegInf;
  }
}

// The causal mask of a segment: hides from query ii the keys after it.
inline void HideCausal(const Operands& P, const Rows& rows, const KeyRun& seg, int64_t col,
                       int64_t ii, Scratch& w) {
  if (!P.mask.causal) return;
  const int64_t first_hidden = P.mask.q_offset + rows.i0 + ii - P.mask.k_offset + 1 - seg.j0;
  HideKeys(w, rows, ii, col, seg.nk, first_hidden, seg.nk);
}

// One item over its tiles: hide(ii, seg, col) hides (HideKeys) what query ii does not see of a
// segment beyond the causal mask.
template <typename Hide>
void RunItem(const Operands& P, Path path, const Rows& rows, const std::vector<KeyTile>& tiles,
             Scratch& w, Hide&& hide, float* out, float* lse) {
  Begin(P, path, rows, w);
  for (const KeyTile& tile : tiles) {
    Scores(P, path, rows, tile, w);
    for (int64_t ii = 0; ii < rows.nq; ++ii) {
      for (int t = 0; t < tile.n; ++t) {
        HideCausal(P, rows, tile.seg[t], tile.col[t], ii, w);
        hide(ii, tile.seg[t], tile.col[t]);
      }
    }
    Accumulate(P, path, rows, tile, w);
  }
  Finish(P, rows, w, out, lse);
}

// Runs covering keys [j_begin, j_end): kTk-aligned tiles (the first and last may be partial).
std::vector<KeyRun> TileRuns(int64_t j_begin, int64_t j_end);

// Appends keys [a, b) to runs, extending the last run where contiguous, cut at multiples of kTk.
void AppendRun(std::vector<KeyRun>* runs, int64_t a, int64_t b);

// Splits runs into n_parts parts of about equal key counts (cuts at multiples of `align` keys
// from the call's first key).
std::vector<std::vector<KeyRun>> SplitRuns(const std::vector<KeyRun>& runs, int64_t n_parts,
                                           int64_t align);

// Decode-like calls have fewer items than threads: then each item's keys are split into chunks
// whose states are merged afterwards, so every thread streams its share of the K/V. The number
// of chunks for n_items items of at most max_keys keys each (1: no split).
int64_t ChunkCount(int64_t n_items, int64_t max_keys);

// Attention states of chunks of the keys, merged into the caller's out/lse (one chunk: the
// caller's buffers themselves).
//   chunk outs: [n_chunks, n_q, n_heads, head_dim]   chunk lses: [n_chunks, n_q, n_heads]
class ChunkStates {
 public:
  ChunkStates(const AttnShape& s, int64_t n_chunks, float* out, float* lse);
  float* out(int64_t chunk);
  float* lse(int64_t chunk);
  void Merge();

 private:
  int64_t n_chunks_, rows_, dim_;
  float *out_, *lse_;
  std::vector<float> part_out_, part_lse_, merged_lse_;
};

}  // namespace starattn::cpu::tile
