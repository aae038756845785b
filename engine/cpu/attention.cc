#include "engine/cpu/attention.h"

#include <immintrin.h>
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "engine/cpu/attention_state.h"

namespace starattn::cpu {
namespace {

using MatR = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using StridedConstMapR = Eigen::Map<const MatR, 0, Eigen::OuterStride<>>;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// A work item is (kv head, tile of kTq queries, key chunk); its rows are the kTq * G
// (query, head) pairs sharing that kv head, so one K/V tile feeds a GEMM of kTq * G rows.
constexpr int64_t kTq = 32;
constexpr int64_t kTk = 256;  // a multiple of 32: the bf16 kernels take 32 keys at a time
// The AVX512-BF16 kernels read K/V packed once per call; with fewer (query, head) rows per kv
// head than this the packing costs more than it saves and the fp32 kernel (on converted tiles)
// runs instead.
constexpr int64_t kMinBf16Rows = 24;

// x rounded to the nearest bf16 (ties to even), as fp32. Finite inputs (scores, softmax
// probabilities and K/V values are).
inline float RoundToBf16(float x) {
  uint32_t b;
  std::memcpy(&b, &x, 4);
  b = (b + 0x7FFFu + ((b >> 16) & 1u)) & 0xFFFF0000u;
  float y;
  std::memcpy(&y, &b, 4);
  return y;
}

// Rounds n values in place to bf16.
void RoundRowToBf16(float* x, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) x[i] = RoundToBf16(x[i]);
}

// Row j of a K/V tile as fp32: D elements of type kv at src.
void LoadRow(const void* src, KvType kv, int64_t D, float* dst) {
  switch (kv) {
    case KvType::kF32:
      std::memcpy(dst, src, D * sizeof(float));
      return;
    case KvType::kBf16:
      Bf16ToFloat(static_cast<const uint16_t*>(src), D, dst);
      return;
    case KvType::kF16:
      HalfToFloat(static_cast<const uint16_t*>(src), D, dst);
      return;
  }
}

// Row j as bf16 (exact for bf16 K/V, rounded otherwise).
void LoadRowBf16(const void* src, KvType kv, int64_t D, float* tmp, uint16_t* dst) {
  if (kv == KvType::kBf16) {
    std::memcpy(dst, src, D * sizeof(uint16_t));
    return;
  }
  LoadRow(src, kv, D, tmp);
  FloatToBf16(tmp, D, dst);
}

int64_t KvBytes(KvType kv) { return kv == KvType::kF32 ? 4 : 2; }

// ---- AVX512-BF16 kernels --------------------------------------------------------------------
// Layouts (bf16 pairs as 32-bit words):
//   qb: [R, D]                 query rows
//   kp: [D / 2, nkp, 2]        kp[p][j] = (K[j][2p], K[j][2p+1])  (keys in lanes)
//   pb: [R, nkp]               probabilities, pairs of adjacent keys
//   vp: [nkp / 2, D, 2]        vp[jp][d] = (V[2jp][d], V[2jp+1][d])  (dims in lanes)

#define STARATTN_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

template <int kRows>
STARATTN_BF16_TARGET void QkBlock(const uint16_t* qb, int64_t D, const uint16_t* kp, int64_t pitch,
                                  int64_t j, float* s, int64_t lds) {
  __m512 acc[kRows][2];
  for (int r = 0; r < kRows; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  const auto* q32 = reinterpret_cast<const int32_t*>(qb);
  for (int64_t p = 0; p < D / 2; ++p) {
    const __m512i b0 = _mm512_loadu_si512(kp + (p * pitch + j) * 2);
    const __m512i b1 = _mm512_loadu_si512(kp + (p * pitch + j + 16) * 2);
    for (int r = 0; r < kRows; ++r) {
      const __m512i a = _mm512_set1_epi32(q32[r * (D / 2) + p]);
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], (__m512bh)a, (__m512bh)b0);
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], (__m512bh)a, (__m512bh)b1);
    }
  }
  for (int r = 0; r < kRows; ++r) {
    _mm512_storeu_ps(s + r * lds + j, acc[r][0]);
    _mm512_storeu_ps(s + r * lds + j + 16, acc[r][1]);
  }
}

// s: [R, lds] = qb: [R, D] * K^T over keys [0, nkp); kp's rows hold `pitch` keys.
STARATTN_BF16_TARGET void QkBf16(const uint16_t* qb, int64_t R, int64_t D, const uint16_t* kp,
                                 int64_t pitch, float* s, int64_t lds, int64_t nkp) {
  for (int64_t j = 0; j < nkp; j += 32) {
    int64_t r = 0;
    for (; r + 8 <= R; r += 8) QkBlock<8>(qb + r * D, D, kp, pitch, j, s + r * lds, lds);
    for (; r < R; ++r) QkBlock<1>(qb + r * D, D, kp, pitch, j, s + r * lds, lds);
  }
}

template <int kRows, int kVecs>
STARATTN_BF16_TARGET void PvBlock(const uint16_t* pb, int64_t nkp, const uint16_t* vp, float* o,
                                  int64_t D) {
  __m512 acc[kRows][kVecs];
  for (int r = 0; r < kRows; ++r) {
    for (int v = 0; v < kVecs; ++v) acc[r][v] = _mm512_loadu_ps(o + r * D + 16 * v);
  }
  const auto* p32 = reinterpret_cast<const int32_t*>(pb);
  for (int64_t jp = 0; jp < nkp / 2; ++jp) {
    __m512i b[kVecs];
    for (int v = 0; v < kVecs; ++v) b[v] = _mm512_loadu_si512(vp + (jp * D + 16 * v) * 2);
    for (int r = 0; r < kRows; ++r) {
      const __m512i a = _mm512_set1_epi32(p32[r * (nkp / 2) + jp]);
      for (int v = 0; v < kVecs; ++v) {
        acc[r][v] = _mm512_dpbf16_ps(acc[r][v], (__m512bh)a, (__m512bh)b[v]);
      }
    }
  }
  for (int r = 0; r < kRows; ++r) {
    for (int v = 0; v < kVecs; ++v) _mm512_storeu_ps(o + r * D + 16 * v, acc[r][v]);
  }
}

// o: [R, D] += pb: [R, nkp] * V.
template <int kVecs>
STARATTN_BF16_TARGET void PvBf16(const uint16_t* pb, int64_t R, int64_t nkp, const uint16_t* vp,
                                 float* o) {
  constexpr int kRows = 24 / kVecs;  // 24 accumulators
  const int64_t D = 16 * kVecs;
  int64_t r = 0;
  for (; r + kRows <= R; r += kRows) {
    PvBlock<kRows, kVecs>(pb + r * nkp, nkp, vp, o + r * D, D);
  }
  for (; r < R; ++r) PvBlock<1, kVecs>(pb + r * nkp, nkp, vp, o + r * D, D);
}

// Thread-local buffers of one work item.
struct Scratch {
  MatR qt, s, o;              // [R, D], [R, kTk], [R, D] fp32
  Eigen::VectorXf m, l;       // [R] running max and sum
  std::vector<float> kf, vf;  // [kTk, D] fp32 K/V tile (converted)
  std::vector<float> tmp;     // [D]
  std::vector<uint16_t> qb;   // [R, D] bf16
  std::vector<uint16_t> pb;   // [R, kTk]
};

struct Plan {
  const float* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  KvType kv = KvType::kF32;
  AttnShape s;
  AttnMask mask;
  float scale = 1;
  bool bf16_simd =
      false;  // bf16 operands through the AVX512-BF16 kernels, on K/V packed once per call:
  const uint16_t* kp = nullptr;  // [n_kv_heads, n_tiles, D / 2, kTk, 2]
  const uint16_t* vp = nullptr;  // [n_kv_heads, n_tiles, kTk / 2, D, 2]
  int64_t G = 0, D = 0, kv_stride = 0, q_stride = 0, n_tiles = 0;
};

// Packs key tile `tile` of kv head `kvh` for the AVX512-BF16 kernels (zeros past n_kv).
void PackTile(const Plan& P, int64_t kvh, int64_t tile, float* tmp, uint16_t* row, uint16_t* kp,
              uint16_t* vp) {
  const int64_t D = P.D, eb = KvBytes(P.kv), j0 = tile * kTk;
  const int64_t nk = std::min(kTk, P.s.n_kv - j0);
  const auto* kb = static_cast<const char*>(P.k);
  const auto* vb = static_cast<const char*>(P.v);
  auto* kp32 = reinterpret_cast<uint32_t*>(kp);
  for (int64_t j = 0; j < kTk; ++j) {
    if (j < nk) {
      LoadRowBf16(kb + ((j0 + j) * P.kv_stride + kvh * D) * eb, P.kv, D, tmp, row);
    } else {
      std::fill(row, row + D, 0);
    }
    const auto* r32 = reinterpret_cast<const uint32_t*>(row);
    for (int64_t p = 0; p < D / 2; ++p) kp32[p * kTk + j] = r32[p];
  }
  for (int64_t j = 0; j < kTk; ++j) {
    if (j < nk) {
      LoadRowBf16(vb + ((j0 + j) * P.kv_stride + kvh * D) * eb, P.kv, D, tmp, row);
    } else {
      std::fill(row, row + D, 0);
    }
    uint16_t* dst = vp + (j / 2) * D * 2 + (j % 2);
    for (int64_t d = 0; d < D; ++d) dst[2 * d] = row[d];
  }
}

// Items of at most this many (query, head) rows (decode) take RunItemSmall.
constexpr int64_t kSmallRows = 16;

#if defined(__AVX512F__)
// 16 fp32 elements of a K/V row of type kv (16 elements from element offset d).
template <KvType kKv>
inline __m512 Load16(const void* row, int64_t d) {
  if constexpr (kKv == KvType::kF32) {
    return _mm512_loadu_ps(static_cast<const float*>(row) + d);
  } else if constexpr (kKv == KvType::kBf16) {
    const __m256i h =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(row) + d));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  } else {
    const __m256i h =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(row) + d));
    return _mm512_cvtph_ps(h);
  }
}

// The 16 sums of x[0..15] as one vector (lane i = sum of x[i]'s lanes).
inline __m512 Sum16(__m512 x[16]) {
  __m512 s2[8], s4[4], s8[2];
  for (int i = 0; i < 8; ++i) {  // per 128-bit lane: (x2i, x2i+1) pairs summed pairwise
    s2[i] = _mm512_add_ps(_mm512_unpacklo_ps(x[2 * i], x[2 * i + 1]),
                          _mm512_unpackhi_ps(x[2 * i], x[2 * i + 1]));
  }
  for (int i = 0; i < 4; ++i) {  // per 128-bit lane: keys 4i..4i+3, each the lane's sum
    const __m512d a = _mm512_castps_pd(s2[2 * i]), b = _mm512_castps_pd(s2[2 * i + 1]);
    s4[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)),
                          _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
  }
  for (int i = 0; i < 2; ++i) {  // fold the four 128-bit lanes pairwise
    s8[i] = _mm512_add_ps(_mm512_shuffle_f32x4(s4[2 * i], s4[2 * i + 1], 0x88),
                          _mm512_shuffle_f32x4(s4[2 * i], s4[2 * i + 1], 0xDD));
  }
  return _mm512_add_ps(_mm512_shuffle_f32x4(s8[0], s8[1], 0x88),
                       _mm512_shuffle_f32x4(s8[0], s8[1], 0xDD));
}
#endif

// s[j] = dot(q, K row j) for nk rows of K of type kv at `k` (row pitch `pitch` elements).
template <KvType kKv>
void DotsRow(const float* q, const char* k, int64_t pitch, int64_t nk, int64_t D, float* s) {
  const int64_t eb = kKv == KvType::kF32 ? 4 : 2;
  int64_t j = 0;
#if defined(__AVX512F__)
  if (D % 16 == 0) {
    for (; j + 16 <= nk; j += 16) {
      __m512 acc[16];
      for (int t = 0; t < 16; ++t) acc[t] = _mm512_setzero_ps();
      for (int64_t d = 0; d < D; d += 16) {
        const __m512 qv = _mm512_loadu_ps(q + d);
        for (int t = 0; t < 16; ++t) {
          acc[t] = _mm512_fmadd_ps(qv, Load16<kKv>(k + (j + t) * pitch * eb, d), acc[t]);
        }
      }
      _mm512_storeu_ps(s + j, Sum16(acc));
    }
  }
#endif
  for (; j < nk; ++j) {
    float row[256];
    LoadRow(k + j * pitch * eb, kKv, D, row);
    float acc = 0.0f;
    for (int64_t d = 0; d < D; ++d) acc += q[d] * row[d];
    s[j] = acc;
  }
}

// o[r] += sum_j p[r][j] * V row j, for `rows` rows (p's pitch ldp, o's pitch D).
template <KvType kKv>
void AccumulateRows(const float* p, int64_t ldp, int64_t rows, const char* v, int64_t pitch,
                    int64_t nk, int64_t D, float* o) {
  const int64_t eb = kKv == KvType::kF32 ? 4 : 2;
#if defined(__AVX512F__)
  if (D == 64 || D == 128) {
    const int64_t nv = D / 16;
    const int64_t block = 24 / nv;  // rows per register block
    for (int64_t r0 = 0; r0 < rows; r0 += block) {
      const int64_t nr = std::min(block, rows - r0);
      __m512 acc[24];
      for (int64_t r = 0; r < nr; ++r) {
        for (int64_t t = 0; t < nv; ++t)
          acc[r * nv + t] = _mm512_loadu_ps(o + (r0 + r) * D + 16 * t);
      }
      for (int64_t j = 0; j < nk; ++j) {
        const char* vj = v + j * pitch * eb;
        __m512 vr[8];
        for (int64_t t = 0; t < nv; ++t) vr[t] = Load16<kKv>(vj, 16 * t);
        for (int64_t r = 0; r < nr; ++r) {
          const __m512 pj = _mm512_set1_ps(p[(r0 + r) * ldp + j]);
          for (int64_t t = 0; t < nv; ++t)
            acc[r * nv + t] = _mm512_fmadd_ps(pj, vr[t], acc[r * nv + t]);
        }
      }
      for (int64_t r = 0; r < nr; ++r) {
        for (int64_t t = 0; t < nv; ++t)
          _mm512_storeu_ps(o + (r0 + r) * D + 16 * t, acc[r * nv + t]);
      }
    }
    return;
  }
#endif
  std::vector<float> row(D);
  for (int64_t j = 0; j < nk; ++j) {
    LoadRow(v + j * pitch * eb, kKv, D, row.data());
    for (int64_t r = 0; r < rows; ++r) {
      const float pj = p[r * ldp + j];
      for (int64_t d = 0; d < D; ++d) o[r * D + d] += pj * row[d];
    }
  }
}

// A decode-sized item (rows <= kSmallRows): fp32 arithmetic on K/V read in place (converted in
// registers), dot products per key and a scaled-row accumulation for PV; Eigen's GEMM packs more
// than it computes at these sizes.
template <KvType kKv>
void RunItemSmall(const Plan& P, Scratch& w, int64_t kvh, int64_t i0, int64_t nq, int64_t j_begin,
                  int64_t j_end, float* dst_out, float* dst_lse) {
  const int64_t G = P.G, D = P.D, rows = nq * P.G;
  for (int64_t ii = 0; ii < nq; ++ii) {
    for (int64_t g = 0; g < G; ++g) {
      const float* src = P.q + (i0 + ii) * P.q_stride + (kvh * G + g) * D;
      w.qt.row(ii * G + g) = Eigen::Map<const Eigen::RowVectorXf>(src, D) * P.scale;
    }
  }
  auto m = w.m.head(rows);
  auto l = w.l.head(rows);
  m.setConstant(kNegInf);
  l.setZero();
  w.o.topRows(rows).setZero();
  const int64_t eb = KvBytes(P.kv);
  const auto* kb = static_cast<const char*>(P.k);
  const auto* vb = static_cast<const char*>(P.v);
  for (int64_t j0 = j_begin; j0 < j_end; j0 += kTk) {
    const int64_t nk = std::min(kTk, j_end - j0);
    const char* k0 = kb + (j0 * P.kv_stride + kvh * D) * eb;
    const char* v0 = vb + (j0 * P.kv_stride + kvh * D) * eb;
    auto St = w.s.topLeftCorner(rows, nk);
    for (int64_t r = 0; r < rows; ++r) {
      DotsRow<kKv>(w.qt.data() + r * D, k0, P.kv_stride, nk, D, w.s.data() + r * kTk);
    }
    if (P.mask.causal) {
      for (int64_t ii = 0; ii < nq; ++ii) {
        const int64_t first_hidden = P.mask.q_offset + i0 + ii - P.mask.k_offset + 1 - j0;
        if (first_hidden >= nk) continue;
        const int64_t from = std::max<int64_t>(first_hidden, 0);
        for (int64_t g = 0; g < G; ++g) {
          St.row(ii * G + g).segment(from, nk - from).setConstant(kNegInf);
        }
      }
    }
    for (int64_t r = 0; r < rows; ++r) {
      const float row_max = St.row(r).maxCoeff();
      const float m_new = std::max(m[r], row_max);
      if (m_new == kNegInf) {
        St.row(r).setZero();
        continue;
      }
      const float alpha = std::exp(m[r] - m_new);
      St.row(r) = (St.row(r).array() - m_new).exp().matrix();
      l[r] = l[r] * alpha + St.row(r).sum();
      w.o.row(r) *= alpha;
      m[r] = m_new;
    }
    AccumulateRows<kKv>(w.s.data(), kTk, rows, v0, P.kv_stride, nk, D, w.o.data());
  }
  for (int64_t ii = 0; ii < nq; ++ii) {
    for (int64_t g = 0; g < G; ++g) {
      const int64_t r = ii * G + g;
      const int64_t h = kvh * G + g;
      float* dst = dst_out + (i0 + ii) * P.q_stride + h * D;
      if (l[r] > 0.0f) {
        Eigen::Map<Eigen::RowVectorXf>(dst, D) = w.o.row(r) / l[r];
        if (dst_lse != nullptr) dst_lse[(i0 + ii) * P.s.n_heads + h] = m[r] + std::log(l[r]);
      } else {
        Eigen::Map<Eigen::RowVectorXf>(dst, D).setZero();
        if (dst_lse != nullptr) dst_lse[(i0 + ii) * P.s.n_heads + h] = kNegInf;
      }
    }
  }
}

// One work item: queries [i0, i0 + nq) of kv head kvh over keys [j_begin, j_end).
void RunItem(const Plan& P, Scratch& w, int64_t kvh, int64_t i0, int64_t nq, int64_t j_begin,
             int64_t j_end, float* dst_out, float* dst_lse) {
  const int64_t G = P.G, D = P.D, rows = nq * P.G;
  const bool simd = P.bf16_simd;
  // Row r = (i - i0) * G + g holds query i, head kvh * G + g.
  for (int64_t ii = 0; ii < nq; ++ii) {
    for (int64_t g = 0; g < G; ++g) {
      const float* src = P.q + (i0 + ii) * P.q_stride + (kvh * G + g) * D;
      auto row = w.qt.row(ii * G + g);
      row = Eigen::Map<const Eigen::RowVectorXf>(src, D);
    }
  }
  if (simd) FloatToBf16(w.qt.data(), rows * D, w.qb.data());
  auto m = w.m.head(rows);
  auto l = w.l.head(rows);
  m.setConstant(kNegInf);
  l.setZero();
  w.o.topRows(rows).setZero();

  const auto* kb = static_cast<const char*>(P.k);
  const auto* vb = static_cast<const char*>(P.v);
  const int64_t eb = KvBytes(P.kv);
  for (int64_t j0 = j_begin; j0 < j_end; j0 += kTk) {
    const int64_t nk = std::min(kTk, j_end - j0);
    const int64_t nkp = (nk + 31) / 32 * 32;
    auto St = w.s.topLeftCorner(rows, nk);
    auto row_k = [&](int64_t j) { return kb + ((j0 + j) * P.kv_stride + kvh * D) * eb; };
    auto row_v = [&](int64_t j) { return vb + ((j0 + j) * P.kv_stride + kvh * D) * eb; };
    const int64_t tile_elems = kTk * D;
    const uint16_t* kp = simd ? P.kp + (kvh * P.n_tiles + j0 / kTk) * tile_elems : nullptr;
    const uint16_t* vp = simd ? P.vp + (kvh * P.n_tiles + j0 / kTk) * tile_elems : nullptr;
    if (simd) {
      QkBf16(w.qb.data(), rows, D, kp, kTk, w.s.data(), kTk, nkp);
    } else if (P.kv == KvType::kF32) {
      StridedConstMapR Kb(static_cast<const float*>(P.k) + j0 * P.kv_stride + kvh * D, nk, D,
                          Eigen::OuterStride<>(P.kv_stride));
      St.noalias() = w.qt.topRows(rows) * Kb.transpose();
    } else {
      for (int64_t j = 0; j < nk; ++j) {
        LoadRow(row_k(j), P.kv, D, w.kf.data() + j * D);
        LoadRow(row_v(j), P.kv, D, w.vf.data() + j * D);
      }
      Eigen::Map<const MatR> Kb(w.kf.data(), nk, D);
      St.noalias() = w.qt.topRows(rows) * Kb.transpose();
    }
    St *= P.scale;
    if (P.mask.causal) {
      for (int64_t ii = 0; ii < nq; ++ii) {
        // Keys j >= first_hidden are invisible to query i0 + ii.
        const int64_t first_hidden = P.mask.q_offset + i0 + ii - P.mask.k_offset + 1 - j0;
        if (first_hidden >= nk) continue;
        const int64_t from = std::max<int64_t>(first_hidden, 0);
        for (int64_t g = 0; g < G; ++g) {
          St.row(ii * G + g).segment(from, nk - from).setConstant(kNegInf);
        }
      }
    }
    for (int64_t r = 0; r < rows; ++r) {
      const float row_max = St.row(r).maxCoeff();
      const float m_new = std::max(m[r], row_max);
      if (m_new == kNegInf) {  // nothing visible to this row yet
        St.row(r).setZero();
        continue;
      }
      const float alpha = std::exp(m[r] - m_new);  // exp(-inf) = 0 on the first tile
      St.row(r) = (St.row(r).array() - m_new).exp().matrix();
      if (simd) {  // P is a bf16 operand of PV; its sum is taken over the rounded values
        RoundRowToBf16(w.s.data() + r * kTk, nk);
      }
      l[r] = l[r] * alpha + St.row(r).sum();
      w.o.row(r) *= alpha;
      m[r] = m_new;
    }
    if (simd) {
      for (int64_t r = 0; r < rows; ++r) {
        uint16_t* dst = w.pb.data() + r * nkp;
        FloatToBf16(w.s.data() + r * kTk, nk, dst);
        std::fill(dst + nk, dst + nkp, 0);
      }
      if (D == 64) {
        PvBf16<4>(w.pb.data(), rows, nkp, vp, w.o.data());
      } else {
        PvBf16<8>(w.pb.data(), rows, nkp, vp, w.o.data());
      }
    } else if (P.kv == KvType::kF32) {
      StridedConstMapR Vb(static_cast<const float*>(P.v) + j0 * P.kv_stride + kvh * D, nk, D,
                          Eigen::OuterStride<>(P.kv_stride));
      w.o.topRows(rows).noalias() += St * Vb;
    } else {
      Eigen::Map<const MatR> Vb(w.vf.data(), nk, D);
      w.o.topRows(rows).noalias() += St * Vb;
    }
  }
  for (int64_t ii = 0; ii < nq; ++ii) {
    for (int64_t g = 0; g < G; ++g) {
      const int64_t r = ii * G + g;
      const int64_t h = kvh * G + g;
      float* dst = dst_out + (i0 + ii) * P.q_stride + h * D;
      if (l[r] > 0.0f) {
        Eigen::Map<Eigen::RowVectorXf>(dst, D) = w.o.row(r) / l[r];
        if (dst_lse != nullptr) dst_lse[(i0 + ii) * P.s.n_heads + h] = m[r] + std::log(l[r]);
      } else {
        Eigen::Map<Eigen::RowVectorXf>(dst, D).setZero();
        if (dst_lse != nullptr) dst_lse[(i0 + ii) * P.s.n_heads + h] = kNegInf;
      }
    }
  }
}

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
  Plan P{q, k, v, kv, s, mask, scale, UsesBf16Kernels(s, compute)};
  P.G = s.n_heads / s.n_kv_heads;
  P.D = s.head_dim;
  P.kv_stride = s.n_kv_heads * s.head_dim;
  P.q_stride = s.n_heads * s.head_dim;
  P.n_tiles = (s.n_kv + kTk - 1) / kTk;
  std::vector<uint16_t> kp_all, vp_all;
  if (P.bf16_simd) {
    kp_all.resize(s.n_kv_heads * P.n_tiles * kTk * P.D);
    vp_all.resize(kp_all.size());
#pragma omp parallel
    {
      std::vector<float> tmp(P.D);
      std::vector<uint16_t> row(P.D);
#pragma omp for schedule(static)
      for (int64_t t = 0; t < s.n_kv_heads * P.n_tiles; ++t) {
        PackTile(P, t / P.n_tiles, t % P.n_tiles, tmp.data(), row.data(),
                 kp_all.data() + t * kTk * P.D, vp_all.data() + t * kTk * P.D);
      }
    }
    P.kp = kp_all.data();
    P.vp = vp_all.data();
  }
  const int64_t n_qtiles = (s.n_q + kTq - 1) / kTq;
  // Decode-like calls (few queries over many keys) have fewer (kv head, query tile) items than
  // threads; then the keys are split into chunks whose states are merged afterwards
  // (attention_state.h), so every thread streams its share of the K/V cache.
  const int64_t threads = omp_get_max_threads();
  int64_t n_chunks = 1;
  if (s.n_kv_heads * n_qtiles < 2 * threads && s.n_kv >= 2 * kTk) {
    const int64_t want = (2 * threads + s.n_kv_heads * n_qtiles - 1) / (s.n_kv_heads * n_qtiles);
    n_chunks = std::min(want, s.n_kv / kTk);
  }
  // Whole key tiles per chunk (the packed tiles are indexed by j0 / kTk).
  const int64_t chunk_keys = ((s.n_kv + n_chunks - 1) / n_chunks + kTk - 1) / kTk * kTk;
  // Partial states of the chunks when split:   outs: [n_chunks, n_q, n_heads, head_dim]
  //                                            lses: [n_chunks, n_q, n_heads]
  std::vector<float> part_out(n_chunks > 1 ? n_chunks * s.n_q * P.q_stride : 0);
  std::vector<float> part_lse(n_chunks > 1 ? n_chunks * s.n_q * s.n_heads : 0);

#pragma omp parallel
  {
    const int64_t R = kTq * P.G, D = P.D;
    Scratch w;
    w.qt.resize(R, D);
    w.s.resize(R, kTk);
    w.o.resize(R, D);
    w.m.resize(R);
    w.l.resize(R);
    w.tmp.resize(D);
    if (kv != KvType::kF32) {
      w.kf.resize(kTk * D);
      w.vf.resize(kTk * D);
    }
    if (P.bf16_simd) {
      w.qb.resize(R * D);
      w.pb.resize(R * kTk);
    }
#pragma omp for schedule(dynamic)
    for (int64_t item = 0; item < s.n_kv_heads * n_qtiles * n_chunks; ++item) {
      const int64_t chunk = item % n_chunks;
      const int64_t kvh = item / n_chunks / n_qtiles;
      const int64_t i0 = (item / n_chunks % n_qtiles) * kTq;
      const int64_t nq = std::min(kTq, s.n_q - i0);
      float* dst_out = n_chunks > 1 ? part_out.data() + chunk * s.n_q * P.q_stride : out;
      float* dst_lse = n_chunks > 1 ? part_lse.data() + chunk * s.n_q * s.n_heads : lse;
      // This chunk's keys; those visible to the last query of the tile bound the loop.
      const int64_t j_begin = chunk * chunk_keys;
      int64_t j_end = std::min(s.n_kv, j_begin + chunk_keys);
      if (mask.causal) {
        j_end = std::clamp<int64_t>(mask.q_offset + i0 + nq - 1 - mask.k_offset + 1, 0, j_end);
      }
      const int64_t j_stop = std::max(j_begin, j_end);
      if (!P.bf16_simd && nq * P.G <= kSmallRows && P.D <= 256) {
        switch (kv) {
          case KvType::kF32:
            RunItemSmall<KvType::kF32>(P, w, kvh, i0, nq, j_begin, j_stop, dst_out, dst_lse);
            break;
          case KvType::kF16:
            RunItemSmall<KvType::kF16>(P, w, kvh, i0, nq, j_begin, j_stop, dst_out, dst_lse);
            break;
          case KvType::kBf16:
            RunItemSmall<KvType::kBf16>(P, w, kvh, i0, nq, j_begin, j_stop, dst_out, dst_lse);
            break;
        }
      } else {
        RunItem(P, w, kvh, i0, nq, j_begin, std::max(j_begin, j_end), dst_out, dst_lse);
      }
    }
  }
  if (n_chunks > 1) {
    std::vector<float> merged_lse(lse == nullptr ? s.n_q * s.n_heads : 0);
    MergeStates(part_out.data(), part_lse.data(), n_chunks, s.n_q * s.n_heads, P.D, out,
                lse != nullptr ? lse : merged_lse.data());
  }
}

void Attention(const float* q, const float* k, const float* v, const AttnShape& shape,
               const AttnMask& mask, float scale, float* out, float* lse) {
  Attention(q, k, v, KvType::kF32, shape, mask, scale, Compute::kF32, out, lse);
}

}  // namespace starattn::cpu
