// Attention on the CPU with the attention state {out, lse} as result, over K/V held in fp32,
// fp16 or bf16, with fp32 or bf16 arithmetic. Layout and visibility:
// engine/common/attention_shape.h. Tiled flash-style: memory O(tile), never O(n_q * n_kv).
//
// Precision: queries, outputs, the online softmax and the log-sum-exps are fp32 always.
//   Compute::kF32   QK^T and PV in fp32 on the K/V values (converted exactly from fp16/bf16).
//   Compute::kBf16  QK^T and PV with bf16 operands (q, K, V and the softmax probabilities P
//                   rounded to bf16) and fp32 accumulation, through AVX512-BF16 dot products,
//                   where UsesBf16Kernels says so: the CPU has them (HaveAvx512Bf16()), head_dim
//                   is 64 or 128 and the call has enough (query, head) rows per kv head to pay
//                   for packing K/V (prefill, not decode). Elsewhere as kF32.
#pragma once

#include <cstdint>

#include "engine/common/attention_shape.h"
#include "engine/cpu/gemm.h"

namespace starattn::cpu {

// The element type of K and V.
enum class KvType { kF32, kF16, kBf16 };

//   q: [n_q, n_heads, head_dim] fp32     k, v: [n_kv, n_kv_heads, head_dim] (kv)
//   out: [n_q, n_heads, head_dim] fp32   lse: [n_q, n_heads] fp32 or null
void Attention(const float* q, const void* k, const void* v, KvType kv, const AttnShape& shape,
               const AttnMask& mask, float scale, Compute compute, float* out, float* lse);

// fp32 K/V and arithmetic.
void Attention(const float* q, const float* k, const float* v, const AttnShape& shape,
               const AttnMask& mask, float scale, float* out, float* lse);

// True when this CPU has AVX512-BF16 and the environment variable STARATTN_NO_AVX512BF16 is
// unset or 0 (tests force the fallback with it).
bool HaveAvx512Bf16();

// Whether Attention with this shape and compute type runs the AVX512-BF16 kernels.
bool UsesBf16Kernels(const AttnShape& shape, Compute compute);

// Element conversions (round to nearest even).
void HalfToFloat(const uint16_t* x, int64_t n, float* y);
void FloatToHalf(const float* x, int64_t n, uint16_t* y);

}  // namespace starattn::cpu
