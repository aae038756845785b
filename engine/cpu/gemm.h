// Linear layers on the CPU through oneDNN's matmul: fp32, or bf16 operands with fp32
// accumulation. oneDNN picks the instruction set at run time (AVX512-BF16 where the CPU has it,
// an AVX-512 or AVX2 emulation otherwise), so one binary serves every x86-64 CPU.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace starattn::cpu {

// The arithmetic of prefill GEMMs and attention: fp32, or bf16 operands with fp32 accumulation
// (softmax and log-sum-exps stay fp32).
enum class Compute { kF32, kBf16 };
std::string_view ComputeName(Compute c);
Compute ParseCompute(std::string_view s);  // "f32" or "bf16"; else Error

// Round to nearest even (NaN stays NaN). n elements.
void FloatToBf16(const float* x, int64_t n, uint16_t* y);
void Bf16ToFloat(const uint16_t* x, int64_t n, float* y);

// A weight matrix w: [out, in], row-major, in a GEMM's compute form (fp32 or bf16).
class GemmWeight {
 public:
  GemmWeight() = default;
  GemmWeight(int64_t out, int64_t in, Compute type);
  // Stores rows [r0, r0 + n) given in fp32 (rounded to bf16 for a bf16 weight).
  void SetRows(int64_t r0, int64_t n, const float* rows);
  // Row r as fp32.
  void GetRow(int64_t r, float* dst) const;
  bool empty() const { return out_ == 0; }
  int64_t out() const { return out_; }
  int64_t in() const { return in_; }
  Compute type() const { return type_; }
  int64_t bytes() const;
  const void* data() const {
    return type_ == Compute::kF32 ? static_cast<const void*>(f32_.data())
                                  : static_cast<const void*>(b16_.data());
  }

 private:
  int64_t out_ = 0, in_ = 0;
  Compute type_ = Compute::kF32;
  std::vector<float> f32_;
  std::vector<uint16_t> b16_;
};

// y: [n, out] = x: [n, in] * w^T (+ bias: [out], may be null); x, y, bias fp32. Parallel over
// the calling thread's OpenMP threads. A bf16 weight rounds x to bf16 first.
void Gemm(const float* x, int64_t n, const GemmWeight& w, const float* bias, float* y);

// The oneDNN implementation a GEMM of this shape and type runs (e.g. "brg:avx512_core_bf16"),
// for benchmarks and tests.
std::string GemmImplementation(int64_t n, int64_t out, int64_t in, Compute type);

}  // namespace starattn::cpu
