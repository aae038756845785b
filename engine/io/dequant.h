// GGML tensor types and their dequantization to fp32 (scalar code, run once at load time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace starattn {

// Values are the on-disk GGML type ids.
enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kBF16 = 30,
};

// Name as llama.cpp prints it ("Q4_1"), or "type<N>" for ids this table does not know.
std::string TypeName(uint32_t type_id);
// True for the types this engine can dequantize (F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K
// Q5_K Q6_K).
bool IsSupportedType(uint32_t type_id);
// Elements per block (1 for F32/F16/BF16, 32 for Q*_0/1, 256 for K-quants).
int64_t BlockSize(GgmlType type);
// Bytes per block.
size_t BlockBytes(GgmlType type);
// Bytes of `n` elements; n must be a multiple of BlockSize(type).
size_t RowBytes(GgmlType type, int64_t n);

// Dequantizes `n` elements (a multiple of BlockSize(type)) from `src` to `dst`.
void Dequantize(GgmlType type, const void* src, int64_t n, float* dst);

// The exact int8 form of the types whose values are, per run of 32 consecutive elements,
// scale * q + offset with an integer q in [-128, 127]: Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 (one run per
// block) and Q4_K Q5_K (eight runs per super-block). Dequantize computes its values from this
// form, so the two agree bit for bit. Offsets are 0 for Q4_0, Q5_0 and Q8_0.
bool HasBlocks32Form(GgmlType type);
//   src: n elements of `type` (n a multiple of BlockSize(type))
//   q: [n]   scale, offset: [n / 32]
// Throws Error for a type without the form.
void DecomposeBlocks32(GgmlType type, const void* src, int64_t n, int8_t* q, float* scale,
                       float* offset);

// IEEE half and bfloat16 to float.
float HalfToFloat(uint16_t h);
float Bf16ToFloat(uint16_t b);

}  // namespace starattn
