// Flash-attention forward on the device: bf16/fp16 Q/K/V, fp32 accumulation, the attention
// state {out (input dtype), lse (fp32, natural log)} as result. Same semantics as
// engine/cpu/ops.h cpu::Attention.
//
// Generic path (sm_80 and sm_90): FlashAttention-2 tiling with mma.sync m16n8k16 tensor-core
// instructions, 64 queries x one head per CTA (4 warps, 16 query rows each), 64-key K/V tiles
// double-buffered in shared memory with cp.async, online softmax in registers.
// Future work: a Hopper path with wgmma + TMA + warp specialisation (FlashAttention-3).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "engine/common/attention_shape.h"

namespace starattn::cuda {

// Row-major, contiguous:
//   q:   [n_q, n_heads, head_dim]           (T)
//   k,v: [n_kv, n_kv_heads, head_dim]       (T)   n_heads % n_kv_heads == 0 (GQA, any ratio)
//   out: [n_q, n_heads, head_dim]           (T)
//   lse: [n_q, n_heads]                     (fp32, natural log; -inf for a row with no visible
//                                            key, whose out row is 0). May be null.
// head_dim: 64 or 128. Pointers 16-byte aligned.
// Visibility: non-causal: every key. Causal: key j is visible to query i iff
// k_offset + j <= q_offset + i (absolute positions of the first query / key).
using DeviceAttentionShape = AttnShape;  // engine/common/attention_shape.h
using DeviceAttentionMask = AttnMask;

// T: __nv_bfloat16 or __half. Returns cudaErrorInvalidValue for an unsupported shape, else the
// launch error, if any. Asynchronous on `stream`.
template <typename T>
cudaError_t AttentionForward(const T* q, const T* k, const T* v, const DeviceAttentionShape& shape,
                             const DeviceAttentionMask& mask, float scale, T* out, float* lse,
                             cudaStream_t stream);

}  // namespace starattn::cuda
