// Test support of the CPU attention kernels' tests (attention_test.cc, sparse_attention_test.cc,
// topk_kv_test.cc): K/V as each type stores them, and the precision configurations a kernel runs
// under with the operands its float64 oracle takes for each.
#pragma once

#include <cstdlib>
#include <string>
#include <vector>

#include "engine/common/attention_shape.h"
#include "engine/common/testing.h"
#include "engine/cpu/attention.h"
#include "engine/cpu/gemm.h"

namespace starattn::cpu::attn_testing {

inline const char* KvName(KvType kv) {
  return kv == KvType::kF32 ? "f32" : kv == KvType::kF16 ? "f16" : "bf16";
}

// x as K/V of type kv: the stored bits (f16/bf16) and their values back in fp32.
struct StoredKv {
  StoredKv(const std::vector<float>& x, KvType type) : kv(type), values(x) {
    if (kv == KvType::kF32) return;
    bits.resize(x.size());
    if (kv == KvType::kBf16) {
      FloatToBf16(x.data(), x.size(), bits.data());
      Bf16ToFloat(bits.data(), x.size(), values.data());
    } else {
      FloatToHalf(x.data(), x.size(), bits.data());
      HalfToFloat(bits.data(), x.size(), values.data());
    }
  }
  // The kernel's operand, and its element e.
  const void* data() const {
    return kv == KvType::kF32 ? static_cast<const void*>(values.data()) : bits.data();
  }
  const void* at(int64_t e) const {
    return static_cast<const char*>(data()) + e * (kv == KvType::kF32 ? 4 : 2);
  }
  KvType kv;
  std::vector<float> values;
  std::vector<uint16_t> bits;
};

inline std::vector<float> RoundBf16(const std::vector<float>& x) {
  std::vector<uint16_t> b(x.size());
  std::vector<float> y(x.size());
  FloatToBf16(x.data(), x.size(), b.data());
  Bf16ToFloat(b.data(), x.size(), y.data());
  return y;
}

// Sets STARATTN_NO_AVX512BF16 for its lifetime.
class NoAvx512Bf16 {
 public:
  explicit NoAvx512Bf16(bool on) {
    if (on) setenv("STARATTN_NO_AVX512BF16", "1", 1);
  }
  ~NoAvx512Bf16() { unsetenv("STARATTN_NO_AVX512BF16"); }
};

// One precision configuration: the kernel's K/V and compute type, and the oracle's operands
// (K/V as stored; where the bf16 kernels run, q, K and V rounded to bf16). The bf16 kernels also
// round the softmax probabilities: their tolerance is kBf16Attention.
struct Precision {
  KvType kv;
  Compute compute;
  bool forced_off;    // AVX512-BF16 forced off (STARATTN_NO_AVX512BF16 set during fn)
  bool bf16_kernels;  // UsesBf16Kernels(shape, compute)
  const StoredKv& k;
  const StoredKv& v;
  std::vector<float> q_ref, k_ref, v_ref;
  testing::Tolerance tol;
  std::string name;
};

// Calls fn(const Precision&) for K/V in f32, f16 and bf16 x compute f32 and bf16, the bf16
// compute with the AVX512-BF16 kernels as the CPU has them and forced off.
template <typename Fn>
void ForEachPrecision(const AttnShape& s, const std::vector<float>& q, const std::vector<float>& k,
                      const std::vector<float>& v, Fn&& fn) {
  for (KvType kv : {KvType::kF32, KvType::kF16, KvType::kBf16}) {
    const StoredKv ks(k, kv), vs(v, kv);
    for (Compute compute : {Compute::kF32, Compute::kBf16}) {
      for (bool forced_off : {false, true}) {
        if (compute == Compute::kF32 && forced_off) continue;
        NoAvx512Bf16 guard(forced_off);
        const bool bf16 = UsesBf16Kernels(s, compute);
        const Precision p{kv,
                          compute,
                          forced_off,
                          bf16,
                          ks,
                          vs,
                          bf16 ? RoundBf16(q) : q,
                          bf16 ? RoundBf16(ks.values) : ks.values,
                          bf16 ? RoundBf16(vs.values) : vs.values,
                          bf16 ? testing::kBf16Attention : testing::kFp32Reduction,
                          std::string("kv ") + KvName(kv) + ", compute " +
                              std::string(ComputeName(compute)) +
                              (forced_off ? ", AVX512-BF16 off" : "") +
                              (bf16 ? ", bf16 kernels" : ", fp32 kernel")};
        fn(p);
      }
    }
  }
}

}  // namespace starattn::cpu::attn_testing
