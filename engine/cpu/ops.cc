#include "engine/cpu/ops.h"

#include <omp.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

namespace starattn::cpu {
namespace {

using MatR = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMapR = Eigen::Map<const MatR>;
using MapR = Eigen::Map<MatR>;

// Below this many rows a GEMM is bandwidth-bound on the weights; split the weight rows over
// threads instead of relying on Eigen's GEMM parallelisation (which it skips for GEMV).
constexpr int64_t kSmallBatch = 16;
constexpr int64_t kRowChunk = 256;

}  // namespace

void MatMul(const float* x, int64_t n, int64_t in, const float* w, int64_t out, const float* bias,
            float* y) {
  ConstMapR W(w, out, in);  // [out, in]
  ConstMapR X(x, n, in);    // [n, in]
  MapR Y(y, n, out);        // [n, out]
  if (n >= kSmallBatch) {
    // One contiguous slice of the weight rows per thread, each a single-threaded Eigen GEMM
    // (Eigen stays single-threaded inside a parallel region). The model's GEMMs go through
    // oneDNN (cpu/gemm.h); this is the in-tree reference the benchmarks compare it with.
    const int64_t parts = std::min<int64_t>(omp_get_max_threads(), (out + 15) / 16);
#pragma omp parallel for schedule(static) num_threads(static_cast <int>(parts))
    for (int64_t p = 0; p < parts; ++p) {
      const int64_t r0 = out * p / parts, r1 = out * (p + 1) / parts;
      Y.middleCols(r0, r1 - r0).noalias() = X * W.middleRows(r0, r1 - r0).transpose();
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
