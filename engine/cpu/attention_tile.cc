#include "engine/cpu/attention_tile.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/common/error.h"
#include "engine/cpu/attention_state.h"
#include "engine/cpu/gemm.h"

namespace starattn::cpu::tile {
namespace {

using MatR = Scratch::MatR;
using StridedConstMapR = Eigen::Map<const MatR, 0, Eigen::OuterStride<>>;

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

// Row j as bf16 (exact for bf16 K/V, rounded otherwise).
void LoadRowBf16(const void* src, KvType kv, int64_t D, float* tmp, uint16_t* dst) {
  if (kv == KvType::kBf16) {
    std::memcpy(dst, src, D * sizeof(uint16_t));
    return;
  }
  LoadRow(src, kv, D, tmp);
  FloatToBf16(tmp, D, dst);
}

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

// o: [kRows, D] += pb: [kRows, nkp] (row pitch ldp) * V.
template <int kRows, int kVecs>
STARATTN_BF16_TARGET void PvBlock(const uint16_t* pb, int64_t ldp, int64_t nkp, const uint16_t* vp,
                                  float* o, int64_t D) {
  __m512 acc[kRows][kVecs];
  for (int r = 0; r < kRows; ++r) {
    for (int v = 0; v < kVecs; ++v) acc[r][v] = _mm512_loadu_ps(o + r * D + 16 * v);
  }
  const auto* p32 = reinterpret_cast<const int32_t*>(pb);
  for (int64_t jp = 0; jp < nkp / 2; ++jp) {
    __m512i b[kVecs];
    for (int v = 0; v < kVecs; ++v) b[v] = _mm512_loadu_si512(vp + (jp * D + 16 * v) * 2);
    for (int r = 0; r < kRows; ++r) {
      const __m512i a = _mm512_set1_epi32(p32[r * (ldp / 2) + jp]);
      for (int v = 0; v < kVecs; ++v) {
        acc[r][v] = _mm512_dpbf16_ps(acc[r][v], (__m512bh)a, (__m512bh)b[v]);
      }
    }
  }
  for (int r = 0; r < kRows; ++r) {
    for (int v = 0; v < kVecs; ++v) _mm512_storeu_ps(o + r * D + 16 * v, acc[r][v]);
  }
}

// PvBlock over the first `rows` (< kRows) rows, rows known at run time.
template <int kRows, int kVecs>
STARATTN_BF16_TARGET void PvRest(int64_t rows, const uint16_t* pb, int64_t ldp, int64_t nkp,
                                 const uint16_t* vp, float* o, int64_t D) {
  if constexpr (kRows > 0) {
    if (rows == kRows) {
      PvBlock<kRows, kVecs>(pb, ldp, nkp, vp, o, D);
    } else {
      PvRest<kRows - 1, kVecs>(rows, pb, ldp, nkp, vp, o, D);
    }
  }
}

// o: [R, D] += pb: [R, nkp] (row pitch ldp, even) * V.
template <int kVecs>
STARATTN_BF16_TARGET void PvBf16(const uint16_t* pb, int64_t ldp, int64_t R, int64_t nkp,
                                 const uint16_t* vp, float* o) {
  constexpr int kRows = 24 / kVecs;  // 24 accumulators
  const int64_t D = 16 * kVecs;
  int64_t r = 0;
  for (; r + kRows <= R; r += kRows) {
    PvBlock<kRows, kVecs>(pb + r * ldp, ldp, nkp, vp, o + r * D, D);
  }
  // The remaining rows in one block: V is read once for them, not once per row.
  PvRest<kRows - 1, kVecs>(R - r, pb + r * ldp, ldp, nkp, vp, o + r * D, D);
}

// Packs key tile `tile` of kv head `kvh` for the AVX512-BF16 kernels (zeros past n_kv).
void PackTile(const Operands& P, int64_t kvh, int64_t tile, float* tmp, uint16_t* row, uint16_t* kp,
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

// Row r's scores, as a row of w.s.
inline float* ScoreRow(Scratch& w, int64_t r) { return w.s.data() + r * kTk; }

}  // namespace

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

int64_t KvBytes(KvType kv) { return kv == KvType::kF32 ? 4 : 2; }

Operands MakeOperands(const float* q, const void* k, const void* v, KvType kv, const AttnShape& s,
                      const AttnMask& mask, float scale, bool bf16_simd) {
  Operands P{q, k, v, kv, s, mask, scale, bf16_simd};
  P.G = s.n_heads / s.n_kv_heads;
  P.D = s.head_dim;
  P.kv_stride = s.n_kv_heads * s.head_dim;
  P.q_stride = s.n_heads * s.head_dim;
  P.n_tiles = (s.n_kv + kTk - 1) / kTk;
  return P;
}

void PackKv(Operands* P, PackedKv* buf, const std::vector<uint8_t>* need) {
  const int64_t n = P->s.n_kv_heads * P->n_tiles, tile_elems = kTk * P->D;
  STARATTN_REQUIRE(need == nullptr || static_cast<int64_t>(need->size()) == n,
                   "PackKv: {} tile flags for {} tiles", need == nullptr ? 0 : need->size(), n);
  std::vector<int64_t> tiles;
  tiles.reserve(n);
  for (int64_t t = 0; t < n; ++t) {
    if (need == nullptr || (*need)[t] != 0) tiles.push_back(t);
  }
  buf->k.reset(new uint16_t[n * tile_elems]);  // uninitialised: only packed tiles are touched
  buf->v.reset(new uint16_t[n * tile_elems]);
  const int64_t n_pack = static_cast<int64_t>(tiles.size());
#pragma omp parallel if (n_pack > 1)
  {
    std::vector<float> tmp(P->D);
    std::vector<uint16_t> row(P->D);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n_pack; ++i) {
      const int64_t t = tiles[i];
      PackTile(*P, t / P->n_tiles, t % P->n_tiles, tmp.data(), row.data(),
               buf->k.get() + t * tile_elems, buf->v.get() + t * tile_elems);
    }
  }
  P->kp = buf->k.get();
  P->vp = buf->v.get();
}

Path ChoosePath(const Operands& P, int64_t rows) {
  if (P.bf16_simd) return Path::kBf16;
  return rows <= kSmallRows && P.D <= 256 ? Path::kSmall : Path::kGemm;
}

Scratch::Scratch(const Operands& P) {
  const int64_t R = kTq * P.G, D = P.D;
  qt.resize(R, D);
  s.resize(R, kTk);
  o.resize(R, D);
  m.resize(R);
  l.resize(R);
  if (P.kv != KvType::kF32) {
    kf.resize(kTk * D);
    vf.resize(kTk * D);
  }
  if (P.bf16_simd) {
    qb.resize(R * D);
    pb.resize(R * kTk);
  }
}

void Begin(const Operands& P, Path path, const Rows& rows, Scratch& w) {
  const int64_t D = P.D, n = rows.count();
  // The small path scales the queries, the others the scores.
  const float qscale = path == Path::kSmall ? P.scale : 1.0f;
  for (int64_t ii = 0; ii < rows.nq; ++ii) {
    for (int64_t t = 0; t < rows.nh; ++t) {
      const float* src = P.q + (rows.i0 + ii) * P.q_stride + rows.heads[t] * D;
      w.qt.row(ii * rows.nh + t) = Eigen::Map<const Eigen::RowVectorXf>(src, D) * qscale;
    }
  }
  if (path == Path::kBf16) FloatToBf16(w.qt.data(), n * D, w.qb.data());
  w.m.head(n).setConstant(kNegInf);
  w.l.head(n).setZero();
  w.o.topRows(n).setZero();
}

void Scores(const Operands& P, Path path, const Rows& rows, const KeyTile& tile, Scratch& w) {
  const int64_t D = P.D, n = rows.count(), eb = KvBytes(P.kv);
  for (int t = 0; t < tile.n; ++t) {
    const KeyRun& run = tile.seg[t];
    const int64_t nk = run.nk, col = tile.col[t];
    const char* k0 = static_cast<const char*>(P.k) + (run.j0 * P.kv_stride + rows.kvh * D) * eb;
    switch (path) {
      case Path::kBf16: {
        const int64_t nkp = (nk + 31) / 32 * 32;
        const uint16_t* kp = P.kp + (rows.kvh * P.n_tiles + run.j0 / kTk) * kTk * D;
        QkBf16(w.qb.data(), n, D, kp + (run.j0 % kTk) * 2, kTk, w.s.data() + col, kTk, nkp);
        break;
      }
      case Path::kSmall:
        for (int64_t r = 0; r < n; ++r) {
          const float* q = w.qt.data() + r * D;
          float* s = ScoreRow(w, r) + col;
          switch (P.kv) {
            case KvType::kF32:
              DotsRow<KvType::kF32>(q, k0, P.kv_stride, nk, D, s);
              break;
            case KvType::kF16:
              DotsRow<KvType::kF16>(q, k0, P.kv_stride, nk, D, s);
              break;
            case KvType::kBf16:
              DotsRow<KvType::kBf16>(q, k0, P.kv_stride, nk, D, s);
              break;
          }
        }
        break;
      case Path::kGemm:
        if (P.kv == KvType::kF32) {
          StridedConstMapR Kb(reinterpret_cast<const float*>(k0), nk, D,
                              Eigen::OuterStride<>(P.kv_stride));
          w.s.block(0, col, n, nk).noalias() = w.qt.topRows(n) * Kb.transpose();
        } else {  // converted rows of the whole tile, one GEMM after the last segment
          for (int64_t j = 0; j < nk; ++j) {
            LoadRow(k0 + j * P.kv_stride * eb, P.kv, D, w.kf.data() + (col + j) * D);
          }
        }
        break;
    }
  }
  auto St = w.s.topLeftCorner(n, tile.width);
  if (path == Path::kGemm && P.kv != KvType::kF32) {
    Eigen::Map<const MatR> Kb(w.kf.data(), tile.width, D);
    St.noalias() = w.qt.topRows(n) * Kb.transpose();
  }
  if (path != Path::kSmall) St *= P.scale;  // the small path scales the queries
}

void Accumulate(const Operands& P, Path path, const Rows& rows, const KeyTile& tile, Scratch& w) {
  const int64_t D = P.D, n = rows.count(), width = tile.width, eb = KvBytes(P.kv);
  auto St = w.s.topLeftCorner(n, width);
  auto m = w.m.head(n);
  auto l = w.l.head(n);
  for (int64_t r = 0; r < n; ++r) {
    const float row_max = St.row(r).maxCoeff();
    const float m_new = std::max(m[r], row_max);
    if (m_new == kNegInf) {  // nothing visible to this row yet
      St.row(r).setZero();
      continue;
    }
    const float alpha = std::exp(m[r] - m_new);  // exp(-inf) = 0 on the first tile
    St.row(r) = (St.row(r).array() - m_new).exp().matrix();
    if (path ==
        Path::kBf16) {  // P is a bf16 operand of PV; its sum is taken over the rounded values
      RoundRowToBf16(ScoreRow(w, r), width);
    }
    l[r] = l[r] * alpha + St.row(r).sum();
    w.o.row(r) *= alpha;
    m[r] = m_new;
  }
  // P as bf16 pairs: [n, ldp], zeros past the width.
  const int64_t ldp = (width + 31) / 32 * 32;
  if (path == Path::kBf16) {
    for (int64_t r = 0; r < n; ++r) {
      uint16_t* dst = w.pb.data() + r * ldp;
      FloatToBf16(ScoreRow(w, r), width, dst);
      std::fill(dst + width, dst + ldp, 0);
    }
  }
  for (int t = 0; t < tile.n; ++t) {
    const KeyRun& run = tile.seg[t];
    const int64_t nk = run.nk, col = tile.col[t];
    const char* v0 = static_cast<const char*>(P.v) + (run.j0 * P.kv_stride + rows.kvh * D) * eb;
    switch (path) {
      case Path::kBf16: {
        const int64_t nkp = (nk + 31) / 32 * 32;
        const uint16_t* vp = P.vp + (rows.kvh * P.n_tiles + run.j0 / kTk) * kTk * D;
        vp += (run.j0 % kTk) / 2 * D * 2;
        if (D == 64) {
          PvBf16<4>(w.pb.data() + col, ldp, n, nkp, vp, w.o.data());
        } else {
          PvBf16<8>(w.pb.data() + col, ldp, n, nkp, vp, w.o.data());
        }
        break;
      }
      case Path::kSmall: {
        const float* p = w.s.data() + col;
        switch (P.kv) {
          case KvType::kF32:
            AccumulateRows<KvType::kF32>(p, kTk, n, v0, P.kv_stride, nk, D, w.o.data());
            break;
          case KvType::kF16:
            AccumulateRows<KvType::kF16>(p, kTk, n, v0, P.kv_stride, nk, D, w.o.data());
            break;
          case KvType::kBf16:
            AccumulateRows<KvType::kBf16>(p, kTk, n, v0, P.kv_stride, nk, D, w.o.data());
            break;
        }
        break;
      }
      case Path::kGemm:
        if (P.kv == KvType::kF32) {
          StridedConstMapR Vb(reinterpret_cast<const float*>(v0), nk, D,
                              Eigen::OuterStride<>(P.kv_stride));
          w.o.topRows(n).noalias() += w.s.block(0, col, n, nk) * Vb;
        } else {
          for (int64_t j = 0; j < nk; ++j) {
            LoadRow(v0 + j * P.kv_stride * eb, P.kv, D, w.vf.data() + (col + j) * D);
          }
        }
        break;
    }
  }
  if (path == Path::kGemm && P.kv != KvType::kF32) {
    Eigen::Map<const MatR> Vb(w.vf.data(), width, D);
    w.o.topRows(n).noalias() += St * Vb;
  }
}

void Finish(const Operands& P, const Rows& rows, const Scratch& w, float* out, float* lse) {
  const int64_t D = P.D;
  for (int64_t ii = 0; ii < rows.nq; ++ii) {
    for (int64_t t = 0; t < rows.nh; ++t) {
      const int64_t r = ii * rows.nh + t, h = rows.heads[t], i = rows.i0 + ii;
      float* dst = out + i * P.q_stride + h * D;
      if (w.l[r] > 0.0f) {
        Eigen::Map<Eigen::RowVectorXf>(dst, D) = w.o.row(r) / w.l[r];
        if (lse != nullptr) lse[i * P.s.n_heads + h] = w.m[r] + std::log(w.l[r]);
      } else {
        Eigen::Map<Eigen::RowVectorXf>(dst, D).setZero();
        if (lse != nullptr) lse[i * P.s.n_heads + h] = kNegInf;
      }
    }
  }
}

void AppendRun(std::vector<KeyRun>* runs, int64_t a, int64_t b) {
  while (a < b) {
    if (!runs->empty()) {
      KeyRun& last = runs->back();
      const int64_t end = last.j0 + last.nk;
      // Contiguous and inside the same kTk tile: extend.
      if (end == a && a % kTk != 0) {
        const int64_t take = std::min(b, (a / kTk + 1) * kTk) - a;
        last.nk += take;
        a += take;
        continue;
      }
    }
    const int64_t take = std::min(b, (a / kTk + 1) * kTk) - a;
    runs->push_back({a, take});
    a += take;
  }
}

std::vector<KeyRun> TileRuns(int64_t j_begin, int64_t j_end) {
  std::vector<KeyRun> runs;
  AppendRun(&runs, j_begin, j_end);
  return runs;
}

std::vector<KeyTile> MakeTiles(const std::vector<KeyRun>& runs) {
  std::vector<KeyTile> tiles;
  for (KeyRun run : runs) {
    while (run.nk > 0) {
      KeyTile* t = tiles.empty() ? nullptr : &tiles.back();
      // Room in the last tile: below kMaxSegments, its last segment 32-aligned in length, and at
      // least 32 columns free (the whole run if it fits).
      int64_t take = 0;
      if (t != nullptr && t->n < KeyTile::kMaxSegments && t->seg[t->n - 1].nk % 32 == 0) {
        const int64_t room = kTk - t->width;
        take = run.nk <= room ? run.nk : room / 32 * 32;
      }
      if (take == 0) {
        tiles.emplace_back();
        t = &tiles.back();
        take = run.nk;  // <= kTk: a run never crosses a multiple of kTk
      }
      t->seg[t->n] = {run.j0, take};
      t->col[t->n] = t->width;
      ++t->n;
      t->width += take;
      run.j0 += take;
      run.nk -= take;
    }
  }
  return tiles;
}

std::vector<std::vector<KeyRun>> SplitRuns(const std::vector<KeyRun>& runs, int64_t n_parts,
                                           int64_t align) {
  std::vector<std::vector<KeyRun>> parts(n_parts);
  int64_t total = 0;
  for (const KeyRun& r : runs) total += r.nk;
  // Part p takes the keys whose rank among the runs' keys is in [bound(p), bound(p + 1)), the
  // bounds moved to the next multiple of align in key index.
  const int64_t per = (total + n_parts - 1) / n_parts;
  int64_t rank = 0, part = 0;
  for (const KeyRun& r : runs) {
    int64_t a = r.j0;
    const int64_t b = r.j0 + r.nk;
    while (a < b) {
      int64_t cut = b;
      if (part + 1 < n_parts) {
        const int64_t left = (part + 1) * per - rank;  // keys still due to this part
        if (left <= 0) {
          ++part;
          continue;
        }
        cut = std::min(b, (a + left + align - 1) / align * align);
      }
      AppendRun(&parts[part], a, cut);
      rank += cut - a;
      a = cut;
    }
  }
  return parts;
}

int64_t ChunkCount(int64_t n_items, int64_t max_keys) {
  const int64_t threads = omp_get_max_threads();
  if (n_items <= 0 || n_items >= 2 * threads || max_keys < 2 * kTk) return 1;
  const int64_t want = (2 * threads + n_items - 1) / n_items;
  return std::min(want, max_keys / kTk);
}

ChunkStates::ChunkStates(const AttnShape& s, int64_t n_chunks, float* out, float* lse)
    : n_chunks_(n_chunks), rows_(s.n_q * s.n_heads), dim_(s.head_dim), out_(out), lse_(lse) {
  if (n_chunks_ > 1) {
    part_out_.resize(n_chunks_ * rows_ * dim_);
    part_lse_.resize(n_chunks_ * rows_);
  }
}

float* ChunkStates::out(int64_t chunk) {
  return n_chunks_ > 1 ? part_out_.data() + chunk * rows_ * dim_ : out_;
}

float* ChunkStates::lse(int64_t chunk) {
  return n_chunks_ > 1 ? part_lse_.data() + chunk * rows_ : lse_;
}

void ChunkStates::Merge() {
  if (n_chunks_ <= 1) return;
  if (lse_ == nullptr) merged_lse_.resize(rows_);
  MergeStates(part_out_.data(), part_lse_.data(), n_chunks_, rows_, dim_, out_,
              lse_ != nullptr ? lse_ : merged_lse_.data());
}

}  // namespace starattn::cpu::tile
