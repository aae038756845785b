#include "engine/cpu/ops_ref.h"

#include <cmath>
#include <limits>
#include <vector>

namespace starattn::cpu::ref {

void MatMul(const float* x, int64_t n, int64_t in, const float* w, int64_t out, const float* bias,
            float* y) {
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t o = 0; o < out; ++o) {
      double acc = bias != nullptr ? bias[o] : 0.0;
      for (int64_t i = 0; i < in; ++i) acc += static_cast<double>(x[t * in + i]) * w[o * in + i];
      y[t * out + o] = static_cast<float>(acc);
    }
  }
}

void QMatMul(const float* x, int64_t n, const QMatrix& w, const float* bias, float* y) {
  const int64_t runs = w.cols / QMatrix::kRun;
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t r = 0; r < w.rows; ++r) {
      double acc = bias != nullptr ? bias[r] : 0.0;
      for (int64_t i = 0; i < w.cols; ++i) {
        const int64_t b = r * runs + i / QMatrix::kRun;
        const double wi =
            static_cast<double>(w.Scale(b)) * w.Q(r, i) + static_cast<double>(w.Offset(b));
        acc += static_cast<double>(x[t * w.cols + i]) * wi;
      }
      y[t * w.rows + r] = static_cast<float>(acc);
    }
  }
}

void RmsNorm(const float* x, const float* w, int64_t n, int64_t d, float eps, float* y) {
  for (int64_t t = 0; t < n; ++t) {
    double ss = 0.0;
    for (int64_t i = 0; i < d; ++i) ss += static_cast<double>(x[t * d + i]) * x[t * d + i];
    const double inv = 1.0 / std::sqrt(ss / d + eps);
    for (int64_t i = 0; i < d; ++i) y[t * d + i] = static_cast<float>(x[t * d + i] * inv * w[i]);
  }
}

void Rope(float* x, int64_t n, int64_t n_heads, int64_t head_dim, const int32_t* positions,
          int64_t rot_dims, float theta, const std::vector<float>& freq_factors,
          RopeLayout layout) {
  const int64_t half = rot_dims / 2;
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t h = 0; h < n_heads; ++h) {
      float* xh = x + (t * n_heads + h) * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        double freq = std::pow(static_cast<double>(theta), -2.0 * i / rot_dims);
        if (!freq_factors.empty()) freq /= freq_factors[i];
        const double angle = positions[t] * freq;
        const int64_t a = layout == RopeLayout::kAdjacentPairs ? 2 * i : i;
        const int64_t b = layout == RopeLayout::kAdjacentPairs ? 2 * i + 1 : i + half;
        const double x0 = xh[a], x1 = xh[b];
        xh[a] = static_cast<float>(x0 * std::cos(angle) - x1 * std::sin(angle));
        xh[b] = static_cast<float>(x0 * std::sin(angle) + x1 * std::cos(angle));
      }
    }
  }
}

void SwiGlu(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const double g = gate[i];
    out[i] = static_cast<float>(g / (1.0 + std::exp(-g)) * up[i]);
  }
}

void Attention(const float* q, const float* k, const float* v, const AttentionShape& s,
               const AttentionMask& mask, float scale, float* out, float* lse) {
  MaskedAttention(
      q, k, v, s,
      [&](int64_t i, int64_t, int64_t j) {
        return !mask.causal || mask.k_offset + j <= mask.q_offset + i;
      },
      scale, out, lse);
}

void MaskedAttention(const float* q, const float* k, const float* v, const AttentionShape& s,
                     const std::function<bool(int64_t, int64_t, int64_t)>& visible, float scale,
                     float* out, float* lse) {
  const int64_t D = s.head_dim;
  const int64_t G = s.n_heads / s.n_kv_heads;
  std::vector<double> scores(s.n_kv);
  for (int64_t i = 0; i < s.n_q; ++i) {
    for (int64_t h = 0; h < s.n_heads; ++h) {
      const int64_t kvh = h / G;
      const float* qi = q + (i * s.n_heads + h) * D;
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < s.n_kv; ++j) {
        if (!visible(i, h, j)) {
          scores[j] = -std::numeric_limits<double>::infinity();
          continue;
        }
        const float* kj = k + (j * s.n_kv_heads + kvh) * D;
        double dot = 0.0;
        for (int64_t d = 0; d < D; ++d) dot += static_cast<double>(qi[d]) * kj[d];
        scores[j] = dot * scale;
        mx = std::max(mx, scores[j]);
      }
      float* oi = out + (i * s.n_heads + h) * D;
      if (mx == -std::numeric_limits<double>::infinity()) {
        for (int64_t d = 0; d < D; ++d) oi[d] = 0.0f;
        if (lse != nullptr) lse[i * s.n_heads + h] = -std::numeric_limits<float>::infinity();
        continue;
      }
      double sum = 0.0;
      for (int64_t j = 0; j < s.n_kv; ++j) {
        scores[j] = std::exp(scores[j] - mx);  // the unnormalised probability
        sum += scores[j];
      }
      for (int64_t d = 0; d < D; ++d) {
        double acc = 0.0;
        for (int64_t j = 0; j < s.n_kv; ++j) acc += scores[j] * v[(j * s.n_kv_heads + kvh) * D + d];
        oi[d] = static_cast<float>(acc / sum);
      }
      if (lse != nullptr) lse[i * s.n_heads + h] = static_cast<float>(mx + std::log(sum));
    }
  }
}

}  // namespace starattn::cpu::ref
