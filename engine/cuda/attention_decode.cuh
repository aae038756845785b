// Split-KV attention for short query blocks (decode: n_q == 1, also small n_q such as
// speculative or star-attention phase-2 queries). Same inputs, outputs and visibility rule as
// AttentionForward (engine/cuda/attention_fwd.cuh).
//
// Pass 1: grid (split, kv head x head chunk, query). Each CTA reads one chunk of the visible
// keys of one KV head once for up to 8 query heads of its GQA group and writes a partial state
// {out (fp32), lse} to the workspace. Pass 2: a merge with the semantics of MergeStates
// (engine/cuda/merge_states.cuh) reads the fp32 partials and writes out (T) and lse.
// Memory-bound by design; tensor cores are not used.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "engine/cuda/attention_fwd.cuh"

namespace starattn::cuda {

// A split count that fills the device: about 4 CTAs per SM, at least 256 keys per split,
// at most 256 splits. `num_sms`: cudaDevAttrMultiProcessorCount.
int AttentionDecodeSplits(const DeviceAttentionShape& shape, int num_sms);

// Workspace for `n_splits` partial states: n_splits * n_q * n_heads * (head_dim + 1) floats.
size_t AttentionDecodeWorkspaceBytes(const DeviceAttentionShape& shape, int n_splits);

// q: [n_q, n_heads, head_dim], k,v: [n_kv, n_kv_heads, head_dim] (T), out: [n_q, n_heads,
// head_dim] (T), lse: [n_q, n_heads] (fp32, may be null). head_dim 64 or 128; pointers 16-byte
// aligned; `workspace` of at least AttentionDecodeWorkspaceBytes(shape, n_splits) bytes
// (16-byte aligned). Returns cudaErrorInvalidValue for an unsupported shape or a short
// workspace, else the launch error, if any. Asynchronous on `stream`.
template <typename T>
cudaError_t AttentionDecode(const T* q, const T* k, const T* v, const DeviceAttentionShape& shape,
                            const DeviceAttentionMask& mask, float scale, int n_splits,
                            void* workspace, size_t workspace_bytes, T* out, float* lse,
                            cudaStream_t stream);

}  // namespace starattn::cuda
