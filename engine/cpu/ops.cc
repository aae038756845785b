#include "engine/cpu/ops.h"

#include <omp.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#if defined(STARATTN_HAVE_OPENBLAS)
#include <cblas.h>
#endif

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <numbers>
#include <vector>

#include "engine/cpu/attention_state.h"

namespace starattn::cpu {
namespace {

using MatR = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMapR = Eigen::Map<const MatR>;
using MapR = Eigen::Map<MatR>;
using StridedConstMapR = Eigen::Map<const MatR, 0, Eigen::OuterStride<>>;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Below this many rows a GEMM is bandwidth-bound on the weights; split the weight rows over
// threads instead of relying on Eigen's GEMM parallelisation (which it skips for GEMV).
constexpr int64_t kSmallBatch = 16;
constexpr int64_t kRowChunk = 256;

#if defined(STARATTN_HAVE_OPENBLAS)
// OpenBLAS stays single-threaded: MatMul slices the work over the OpenMP threads itself, and
// host threads may call it concurrently. (The OpenMP build's openblas_set_num_threads also sets
// the calling thread's OpenMP thread count, which is restored.)
void SingleThreadedBlas() {
  static std::once_flag once;
  std::call_once(once, [] {
    const int threads = omp_get_max_threads();
    openblas_set_num_threads(1);
    omp_set_num_threads(threads);
  });
}
#endif

}  // namespace

void MatMul(const float* x, int64_t n, int64_t in, const float* w, int64_t out, const float* bias,
            float* y) {
  ConstMapR W(w, out, in);   // [out, in]
  ConstMapR X(x, n, in);     // [n, in]
  MapR Y(y, n, out);         // [n, out]
  if (n >= kSmallBatch) {
    // One contiguous slice of the weight rows per thread, each a single-threaded GEMM
    // (OpenBLAS's OpenMP build and Eigen both stay single-threaded inside a parallel region).
    // On 2 threads of the dev machine: Eigen's own parallel GEMM 55-63% of the FMA peak,
    // Eigen sliced 57-70%, OpenBLAS sliced 82-90% (results/perf/README.md).
#if defined(STARATTN_HAVE_OPENBLAS)
    SingleThreadedBlas();
#endif
    const int64_t parts = std::min<int64_t>(omp_get_max_threads(), (out + 15) / 16);
#pragma omp parallel for schedule(static) num_threads(static_cast<int>(parts))
    for (int64_t p = 0; p < parts; ++p) {
      const int64_t r0 = out * p / parts, r1 = out * (p + 1) / parts;
#if defined(STARATTN_HAVE_OPENBLAS)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(n),
                  static_cast<blasint>(r1 - r0), static_cast<blasint>(in), 1.0f, x,
                  static_cast<blasint>(in), w + r0 * in, static_cast<blasint>(in), 0.0f, y + r0,
                  static_cast<blasint>(out));
#else
      Y.middleCols(r0, r1 - r0).noalias() = X * W.middleRows(r0, r1 - r0).transpose();
#endif
    }
  } else {
    const int64_t n_chunks = (out + kRowChunk - 1) / kRowChunk;
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < n_chunks; ++c) {
      const int64_t r0 = c * kRowChunk;
      const int64_t rn = std::min(kRowChunk, out - r0);
      Y.middleCols(r0, rn).noalias() = X * W.middleRows(r0, rn).transpose();
    }
  }
  if (bias != nullptr) {
    Y.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(bias, out);
  }
}

void RmsNorm(const float* x, const float* w, int64_t n, int64_t d, float eps, float* y) {
  Eigen::Map<const Eigen::ArrayXf> weight(w, d);
#pragma omp parallel for schedule(static) if (n > 8)
  for (int64_t t = 0; t < n; ++t) {
    Eigen::Map<const Eigen::ArrayXf> xr(x + t * d, d);
    Eigen::Map<Eigen::ArrayXf> yr(y + t * d, d);
    // Sum of squares in double: d is small (<= 16K) and this keeps the norm exact to fp32.
    double ss = 0.0;
    for (int64_t i = 0; i < d; ++i) ss += static_cast<double>(x[t * d + i]) * x[t * d + i];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(d) + eps));
    yr = xr * inv * weight;
  }
}

void Rope(float* x, int64_t n, int64_t n_heads, int64_t head_dim, const int32_t* positions,
          const std::vector<float>& inv_freq, RopeLayout layout) {
  const int64_t half = static_cast<int64_t>(inv_freq.size());
#pragma omp parallel if (n > 8)
  {
    std::vector<float> cs(half), sn(half);
#pragma omp for schedule(static)
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t i = 0; i < half; ++i) {
        const double angle = static_cast<double>(positions[t]) * inv_freq[i];
        cs[i] = static_cast<float>(std::cos(angle));
        sn[i] = static_cast<float>(std::sin(angle));
      }
      for (int64_t h = 0; h < n_heads; ++h) {
        float* xh = x + (t * n_heads + h) * head_dim;
        for (int64_t i = 0; i < half; ++i) {
          const int64_t a = layout == RopeLayout::kAdjacentPairs ? 2 * i : i;
          const int64_t b = layout == RopeLayout::kAdjacentPairs ? 2 * i + 1 : i + half;
          const float x0 = xh[a], x1 = xh[b];
          xh[a] = x0 * cs[i] - x1 * sn[i];
          xh[b] = x0 * sn[i] + x1 * cs[i];
        }
      }
    }
  }
}

void SwiGlu(const float* gate, const float* up, int64_t n, float* out) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void AddInPlace(float* x, const float* y, int64_t n) {
  Eigen::Map<Eigen::ArrayXf>(x, n) += Eigen::Map<const Eigen::ArrayXf>(y, n);
}

void Attention(const float* q, const float* k, const float* v, const AttentionShape& s,
               const AttentionMask& mask, float scale, float* out, float* lse) {
  const int64_t D = s.head_dim;
  const int64_t G = s.n_heads / s.n_kv_heads;  // query heads per kv head
  // A work item is (kv head, tile of kTq queries, key chunk); its rows are the kTq * G
  // (query, head) pairs sharing that kv head, so one K/V tile feeds a GEMM of kTq * G rows.
  constexpr int64_t kTq = 32;
  constexpr int64_t kTk = 256;
  const int64_t n_qtiles = (s.n_q + kTq - 1) / kTq;
  const int64_t kv_stride = s.n_kv_heads * D;
  const int64_t q_stride = s.n_heads * D;
  // Decode-like calls (few queries over many keys) have fewer (kv head, query tile) items than
  // threads; then the keys are split into chunks whose states are merged afterwards
  // (attention_state.h), so every thread streams its share of the K/V cache.
  const int64_t threads = omp_get_max_threads();
  int64_t n_chunks = 1;
  if (s.n_kv_heads * n_qtiles < 2 * threads && s.n_kv >= 2 * kTk) {
    const int64_t want = (2 * threads + s.n_kv_heads * n_qtiles - 1) / (s.n_kv_heads * n_qtiles);
    n_chunks = std::min(want, s.n_kv / kTk);
  }
  const int64_t chunk_keys = (s.n_kv + n_chunks - 1) / n_chunks;
  // Partial states of the chunks when split:   outs: [n_chunks, n_q, n_heads, head_dim]
  //                                            lses: [n_chunks, n_q, n_heads]
  std::vector<float> part_out(n_chunks > 1 ? n_chunks * s.n_q * q_stride : 0);
  std::vector<float> part_lse(n_chunks > 1 ? n_chunks * s.n_q * s.n_heads : 0);

#pragma omp parallel
  {
    MatR Qt(kTq * G, D), S(kTq * G, kTk), O(kTq * G, D);
    Eigen::VectorXf m(kTq * G), l(kTq * G);
#pragma omp for schedule(dynamic)
    for (int64_t item = 0; item < s.n_kv_heads * n_qtiles * n_chunks; ++item) {
      const int64_t chunk = item % n_chunks;
      const int64_t kvh = item / n_chunks / n_qtiles;
      const int64_t i0 = (item / n_chunks % n_qtiles) * kTq;
      const int64_t nq = std::min(kTq, s.n_q - i0);
      const int64_t rows = nq * G;
      float* dst_out = n_chunks > 1 ? part_out.data() + chunk * s.n_q * q_stride : out;
      float* dst_lse = n_chunks > 1 ? part_lse.data() + chunk * s.n_q * s.n_heads : lse;
      // Row r = (i - i0) * G + g holds query i, head kvh * G + g.
      for (int64_t ii = 0; ii < nq; ++ii) {
        for (int64_t g = 0; g < G; ++g) {
          const float* src = q + (i0 + ii) * q_stride + (kvh * G + g) * D;
          Qt.row(ii * G + g) = Eigen::Map<const Eigen::RowVectorXf>(src, D) * scale;
        }
      }
      m.head(rows).setConstant(kNegInf);
      l.head(rows).setZero();
      O.topRows(rows).setZero();

      // This chunk's keys; those visible to the last query of the tile bound the loop.
      const int64_t j_begin = chunk * chunk_keys;
      int64_t j_end = std::min(s.n_kv, j_begin + chunk_keys);
      if (mask.causal) {
        j_end = std::clamp<int64_t>(mask.q_offset + i0 + nq - 1 - mask.k_offset + 1, 0, j_end);
      }
      for (int64_t j0 = j_begin; j0 < j_end; j0 += kTk) {
        const int64_t nk = std::min(kTk, j_end - j0);
        StridedConstMapR Kb(k + j0 * kv_stride + kvh * D, nk, D, Eigen::OuterStride<>(kv_stride));
        StridedConstMapR Vb(v + j0 * kv_stride + kvh * D, nk, D, Eigen::OuterStride<>(kv_stride));
        auto St = S.topLeftCorner(rows, nk);
        St.noalias() = Qt.topRows(rows) * Kb.transpose();
        if (mask.causal) {
          for (int64_t ii = 0; ii < nq; ++ii) {
            // Keys j >= first_hidden are invisible to query i0 + ii.
            const int64_t first_hidden = mask.q_offset + i0 + ii - mask.k_offset + 1 - j0;
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
          l[r] = l[r] * alpha + St.row(r).sum();
          O.row(r) *= alpha;
          m[r] = m_new;
        }
        O.topRows(rows).noalias() += St * Vb;
      }
      for (int64_t ii = 0; ii < nq; ++ii) {
        for (int64_t g = 0; g < G; ++g) {
          const int64_t r = ii * G + g;
          const int64_t h = kvh * G + g;
          float* dst = dst_out + (i0 + ii) * q_stride + h * D;
          if (l[r] > 0.0f) {
            Eigen::Map<Eigen::RowVectorXf>(dst, D) = O.row(r) / l[r];
            if (dst_lse != nullptr) dst_lse[(i0 + ii) * s.n_heads + h] = m[r] + std::log(l[r]);
          } else {
            Eigen::Map<Eigen::RowVectorXf>(dst, D).setZero();
            if (dst_lse != nullptr) dst_lse[(i0 + ii) * s.n_heads + h] = kNegInf;
          }
        }
      }
    }
  }
  if (n_chunks > 1) {
    std::vector<float> merged_lse(lse == nullptr ? s.n_q * s.n_heads : 0);
    MergeStates(part_out.data(), part_lse.data(), n_chunks, s.n_q * s.n_heads, D, out,
                lse != nullptr ? lse : merged_lse.data());
  }
}

void EnableFlushDenormals() {
#if defined(__SSE__)
  _mm_setcsr(_mm_getcsr() | 0x8040);  // FTZ (bit 15) | DAZ (bit 6)
#endif
}

int64_t Argmax(const float* x, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i) {
    if (x[i] > x[best]) best = i;
  }
  return best;
}

}  // namespace starattn::cpu
