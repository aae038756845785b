// Scalar oracles of the CPU operators: naive loops, accumulation in double. Used by tests only
// (they are slow), but built into the library so every test and tool can reach them.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "engine/cpu/ops.h"
#include "engine/cpu/qmatmul.h"

namespace starattn::cpu::ref {

void MatMul(const float* x, int64_t n, int64_t in, const float* w, int64_t out, const float* bias,
            float* y);
// From the definition w[r, i] = scale * q + offset, in double.
void QMatMul(const float* x, int64_t n, const QMatrix& w, const float* bias, float* y);
void RmsNorm(const float* x, const float* w, int64_t n, int64_t d, float eps, float* y);
// Rotation from the definition (angle = pos * theta^(-2i/d) / factor_i), no shared tables.
void Rope(float* x, int64_t n, int64_t n_heads, int64_t head_dim, const int32_t* positions,
          int64_t rot_dims, float theta, const std::vector<float>& freq_factors, RopeLayout layout);
void SwiGlu(const float* gate, const float* up, int64_t n, float* out);
// Materialises every score, softmax in double.
void Attention(const float* q, const float* k, const float* v, const AttentionShape& shape,
               const AttentionMask& mask, float scale, float* out, float* lse);
// Attention over the keys visible(i, h, j) keeps (query i, query head h, key j), in double; a
// row with no visible key: out 0, lse -inf. Layouts as Attention.
void MaskedAttention(const float* q, const float* k, const float* v, const AttentionShape& shape,
                     const std::function<bool(int64_t, int64_t, int64_t)>& visible, float scale,
                     float* out, float* lse);

}  // namespace starattn::cpu::ref
