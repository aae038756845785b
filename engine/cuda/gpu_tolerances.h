// The tolerance policy of the device ops and the device model against the CPU (the 16-bit
// counterpart of engine/common/testing.h, which has none; the attention kernels' own
// tolerances are in attention_testing.h). Each says why it is what it is.
#pragma once

#include "engine/common/testing.h"

namespace starattn::cuda::testing {

// fp32-in, fp32-out element-wise ops (embedding of exact values, RMSNorm, RoPE, SwiGLU, adds):
// the same formula as the double oracle, fp32 rounding and fused multiply-adds only (RMSNorm's
// fp32 sum of squares over d <= 4096 terms; SwiGLU's __expf under --use_fast_math: a few ulp).
inline constexpr starattn::testing::Tolerance kOpFp32{1e-5, 2e-5};
// An op whose output is rounded to bf16 (8 significant bits: relative 2^-8 = 3.9e-3) or fp16
// (2^-11): one rounding of a value within kOpFp32.
inline constexpr starattn::testing::Tolerance kOpBf16Out{1e-5, 4e-3};
inline constexpr starattn::testing::Tolerance kOpFp16Out{1e-5, 5e-4};
// GEMM of exactly representable 16-bit inputs with fp32 accumulation against the double
// oracle on the same inputs: only the fp32 summation order differs (K up to 4096, |terms| <= 1:
// ~ sqrt(K) * 2^-24 * K worst case stays under 1e-3 absolute).
inline constexpr starattn::testing::Tolerance kGemmFp32Out{1e-3, 1e-4};

// Whole-model logits, device (16-bit weights and activations at every GEMM and attention
// input, fp32 residual stream) against the CPU model on the SAME 16-bit-rounded weights
// (fp32 activations): the error is the rounding of activations, about 2^-9 relative per GEMM
// input and attention operand, compounded over the layers. Measured as the normalised MSE
// sum (a - b)^2 / sum b^2 over all logits (per-element tolerances are meaningless for logits
// near 0), llama.cpp's test-backend-ops metric; plus the same argmax wherever the CPU's top-2
// margin exceeds kModelArgmaxMargin logits.
inline constexpr double kModelNmseBf16 = 2e-3;
inline constexpr double kModelNmseFp16 = 5e-4;
inline constexpr double kModelArgmaxMargin = 0.5;
// Device-vs-device comparisons of the same arithmetic in different decompositions (star with
// one block vs dense, ring vs dense, phase 2 split over hosts vs one host): the attention
// states merge in fp32 but the outputs are rounded to 16 bits per host before the merge, so
// the logits differ by rounding noise only.
inline constexpr double kModelNmseSplit = 5e-4;

}  // namespace starattn::cuda::testing
