#include "engine/cpu/attention_state.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace starattn::cpu {

void MergeStates(const float* outs, const float* lses, int64_t n_states, int64_t n_rows,
                 int64_t dim, float* out, float* lse) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
#pragma omp parallel if (n_rows * dim * n_states > (1 << 16))
  {
    std::vector<double> a(dim);  // accumulator of one row, in double: weights are in (0, 1]
#pragma omp for schedule(static)
    for (int64_t r = 0; r < n_rows; ++r) {
      float m = kNegInf;
      for (int64_t s = 0; s < n_states; ++s) {
        const float l = lses[s * n_rows + r];
        if (LseIsLive(l) && l > m) m = l;
      }
      float* o = out + r * dim;
      if (m == kNegInf) {  // every state empty
        for (int64_t d = 0; d < dim; ++d) o[d] = 0.0f;
        lse[r] = kNegInf;
        continue;
      }
      double wsum = 0.0;
      for (int64_t d = 0; d < dim; ++d) a[d] = 0.0;
      for (int64_t s = 0; s < n_states; ++s) {
        const float l = lses[s * n_rows + r];
        if (!LseIsLive(l)) continue;
        const double w = std::exp(static_cast<double>(l) - m);
        wsum += w;
        const float* os = outs + (s * n_rows + r) * dim;
        for (int64_t d = 0; d < dim; ++d) a[d] += w * os[d];
      }
      for (int64_t d = 0; d < dim; ++d) o[d] = static_cast<float>(a[d] / wsum);
      lse[r] = static_cast<float>(m + std::log(wsum));
    }
  }
}

void MergeStateInto(float* out_a, float* lse_a, const float* out_b, const float* lse_b,
                    int64_t n_rows, int64_t dim) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  for (int64_t r = 0; r < n_rows; ++r) {
    const bool live_a = LseIsLive(lse_a[r]), live_b = LseIsLive(lse_b[r]);
    float* oa = out_a + r * dim;
    const float* ob = out_b + r * dim;
    if (!live_b) {
      if (!live_a) {
        for (int64_t d = 0; d < dim; ++d) oa[d] = 0.0f;
        lse_a[r] = kNegInf;
      }
      continue;
    }
    if (!live_a) {
      for (int64_t d = 0; d < dim; ++d) oa[d] = ob[d];
      lse_a[r] = lse_b[r];
      continue;
    }
    const double m = std::max(lse_a[r], lse_b[r]);
    const double wa = std::exp(lse_a[r] - m), wb = std::exp(lse_b[r] - m);
    const double inv = 1.0 / (wa + wb);
    for (int64_t d = 0; d < dim; ++d) oa[d] = static_cast<float>((wa * oa[d] + wb * ob[d]) * inv);
    lse_a[r] = static_cast<float>(m + std::log(wa + wb));
  }
}

}  // namespace starattn::cpu
