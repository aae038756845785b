// y = x * w^T over the int8/4-bit form of GGUF weights (engine/io/qmatrix.h). Decoding is bound
// by reading the weights once per token, so small batches (decode steps) multiply with these
// instead of the fp32 copy; large batches keep the fp32 GEMM.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/io/qmatrix.h"

namespace starattn::cpu {

using starattn::QMatrix;

// Batches up to this many rows use QMatMul in the model; larger ones the fp32 GEMM.
inline constexpr int64_t kQMatMulMaxRows = 4;

// y = x * w^T + bias
//   x: [n, w.cols]   bias: [w.rows] or null   y: [n, w.rows]
// Accumulates in fp32 as scale * sum(q * x) + offset * sum(x) per run, parallel over rows.
void QMatMul(const float* x, int64_t n, const QMatrix& w, const float* bias, float* y);

}  // namespace starattn::cpu
