#include "engine/cpu/attention.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "engine/cpu/attention_tile.h"

namespace starattn::cpu {
namespace {

using tile::kTk;
using tile::kTq;

// The AVX512-BF16 kernels read K/V packed once per call; with fewer (query, head) rows per kv
// head than this the packing costs more than it saves and the fp32 kernel (on converted tiles)
// runs instead.
constexpr int64_t kMinBf16Rows = 24;

}  // namespace

bool HaveAvx512Bf16() {
  static const bool cpu_has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw");
  }();
  const char* off = std::getenv("STARATTN_NO_AVX512BF16");  // read on every call: tests set it
  return cpu_has && (off == nullptr || off[0] == '\0' || std::strcmp(off, "0") == 0);
}

bool UsesBf16Kernels(const AttnShape& s, Compute compute) {
  // Calls with few (query, head) rows per kv head (decode) stream the cache once: there the fp32
  // kernel on converted tiles runs, packing would cost more than it saves.
  const int64_t G = s.n_kv_heads > 0 ? s.n_heads / s.n_kv_heads : 0;
  return compute == Compute::kBf16 && HaveAvx512Bf16() && (s.head_dim == 64 || s.head_dim == 128) &&
         std::min(s.n_q, kTq) * G >= kMinBf16Rows;
}

void HalfToFloat(const uint16_t* x, int64_t n, float* y) {
  int64_t i = 0;
#if defined(__F16C__)
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i));
    _mm256_storeu_ps(y + i, _mm256_cvtph_ps(h));
  }
#endif
  for (; i < n; ++i) y[i] = _cvtsh_ss(x[i]);
}

void FloatToHalf(const float* x, int64_t n, uint16_t* y) {
  int64_t i = 0;
#if defined(__F16C__)
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), h);
  }
#endif
  for (; i < n; ++i) y[i] = _cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT);
}

void Attention(const float* q, const void* k, const void* v, KvType kv, const AttnShape& s,
               const AttnMask& mask, float scale, Compute compute, float* out, float* lse) {
  if (s.n_q == 0) return;
  tile::Operands P = tile::MakeOperands(q, k, v, kv, s, mask, scale, UsesBf16Kernels(s, compute));
  tile::PackedKv packed;
  if (P.bf16_simd) tile::PackKv(&P, &packed);
  const int64_t n_qtiles = (s.n_q + kTq - 1) / kTq;
  // A work item is (kv head, tile of kTq queries, key chunk); its rows are the kTq * G
  // (query, head) pairs sharing that kv head, so one K/V tile feeds a GEMM of kTq * G rows.
  // Few items (decode): the keys are split into chunks (tile::ChunkCount).
  const int64_t n_chunks = tile::ChunkCount(s.n_kv_heads * n_qtiles, s.n_kv);
  // Whole key tiles per chunk.
  const int64_t chunk_keys = ((s.n_kv + n_chunks - 1) / n_chunks + kTk - 1) / kTk * kTk;
  tile::ChunkStates states(s, n_chunks, out, lse);
  std::vector<int64_t> heads(s.n_heads);
  for (int64_t h = 0; h < s.n_heads; ++h) heads[h] = h;

#pragma omp parallel
  {
    tile::Scratch w(P);
#pragma omp for schedule(dynamic)
    for (int64_t item = 0; item < s.n_kv_heads * n_qtiles * n_chunks; ++item) {
      const int64_t chunk = item % n_chunks;
      tile::Rows rows;
      rows.kvh = item / n_chunks / n_qtiles;
      rows.i0 = (item / n_chunks % n_qtiles) * kTq;
      rows.nq = std::min(kTq, s.n_q - rows.i0);
      rows.heads = heads.data() + rows.kvh * P.G;
      rows.nh = P.G;
      // This chunk's keys; those visible to the last query of the tile bound the loop.
      const int64_t j_begin = chunk * chunk_keys;
      int64_t j_end = std::min(s.n_kv, j_begin + chunk_keys);
      if (mask.causal) {
        j_end = std::clamp<int64_t>(mask.q_offset + rows.i0 + rows.nq - mask.k_offset, 0, j_end);
      }
      const auto tiles = tile::MakeTiles(tile::TileRuns(j_begin, j_end));
      tile::RunItem(
          P, tile::ChoosePath(P, rows.count()), rows, tiles, w,
          [](int64_t, const tile::KeyRun&, int64_t) {}, states.out(chunk), states.lse(chunk));
    }
  }
  states.Merge();
}

void Attention(const float* q, const float* k, const float* v, const AttnShape& shape,
               const AttnMask& mask, float scale, float* out, float* lse) {
  Attention(q, k, v, KvType::kF32, shape, mask, scale, Compute::kF32, out, lse);
}

}  // namespace starattn::cpu
