// CPU operators of the forward pass (fp32, Eigen, OpenMP). Every tensor is a row-major float
// array described by a shape comment, e.g. x: [n_tokens, d_model]. Each op has a scalar oracle in
// ops_ref.h that the tests compare against.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/common/attention_shape.h"

namespace starattn::cpu {

// y: [n, out] = x: [n, in] * w: [out, in]^T (+ bias: [out], may be null).
void MatMul(const float* x, int64_t n, int64_t in, const float* w, int64_t out, const float* bias,
            float* y);

// y: [n, d] = x / rms(x) * w, w: [d]. y may alias x.
void RmsNorm(const float* x, const float* w, int64_t n, int64_t d, float eps, float* y);

// How a head's dimensions are paired for rotation. GGUF `llama` checkpoints store Q/K permuted
// for adjacent pairs (x[2i], x[2i+1]); Hugging Face checkpoints (and GGUF `qwen2`) rotate the
// halves (x[i], x[i + d/2]).
enum class RopeLayout { kAdjacentPairs, kSplitHalf };

// Rotates x: [n, n_heads, head_dim] in place; token t is at position positions[t]. Only the
// first 2 * inv_freq.size() dims of each head rotate. inv_freq: engine/model/rope.h.
void Rope(float* x, int64_t n, int64_t n_heads, int64_t head_dim, const int32_t* positions,
          const std::vector<float>& inv_freq, RopeLayout layout);

// out: [n] = silu(gate) * up. out may alias gate.
void SwiGlu(const float* gate, const float* up, int64_t n, float* out);

// x: [n] += y: [n]
void AddInPlace(float* x, const float* y, int64_t n);

// The attention shape and visibility of the kernels (engine/common/attention_shape.h); the
// kernel itself is engine/cpu/attention.h.
using AttentionShape = AttnShape;
using AttentionMask = AttnMask;

// Sets flush-to-zero and denormals-are-zero for the calling thread (threads it starts later
// inherit it). Denormal activations otherwise slow x86 FMA code by orders of magnitude.
void EnableFlushDenormals();

// Index of the largest value of x: [n] (the first one on ties).
int64_t Argmax(const float* x, int64_t n);

}  // namespace starattn::cpu
