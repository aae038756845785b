#include "engine/cpu/gemm.h"

#include <immintrin.h>
#include <omp.h>

#include <cstring>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>

#include "engine/common/error.h"

namespace starattn::cpu {
namespace {

using dnnl::memory;

const dnnl::engine& Engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// One primitive per (rows, out, in, type, bias); each host thread keeps its own.
struct Key {
  int64_t n, out, in;
  Compute type;
  bool bias;
  bool operator<(const Key& o) const {
    return std::tie(n, out, in, type, bias) < std::tie(o.n, o.out, o.in, o.type, o.bias);
  }
};

struct Plan {
  dnnl::matmul::primitive_desc pd;
  dnnl::matmul prim;
};

memory::data_type DataType(Compute t) {
  return t == Compute::kF32 ? memory::data_type::f32 : memory::data_type::bf16;
}

Plan MakePlan(const Key& k) {
  const memory::dim n = k.n, out = k.out, in = k.in;
  Plan p;
  try {
    const memory::desc src({n, in}, DataType(k.type), memory::format_tag::ab);
    // w: [out, in] row-major is the [in, out] matrix with strides {1, in}.
    const memory::desc wei({in, out}, DataType(k.type), memory::format_tag::ba);
    const memory::desc dst({n, out}, memory::data_type::f32, memory::format_tag::ab);
    if (k.bias) {
      const memory::desc bias({1, out}, memory::data_type::f32, memory::format_tag::ab);
      p.pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, wei, bias, dst), Engine());
    } else {
      p.pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, wei, dst), Engine());
    }
  } catch (const dnnl::error& e) {
    Fail("oneDNN matmul [{}, {}] x [{}, {}]^T ({}): {}", n, in, out, in, ComputeName(k.type),
         e.what());
  }
  p.prim = dnnl::matmul(p.pd);
  return p;
}

Plan& PlanFor(const Key& k) {
  thread_local std::map<Key, Plan> plans;
  auto it = plans.find(k);
  if (it == plans.end()) it = plans.emplace(k, MakePlan(k)).first;
  return it->second;
}

}  // namespace

std::string_view ComputeName(Compute c) { return c == Compute::kF32 ? "f32" : "bf16"; }

Compute ParseCompute(std::string_view s) {
  if (s == "f32" || s == "fp32") return Compute::kF32;
  if (s == "bf16") return Compute::kBf16;
  Fail("unknown compute type '{}' (f32, bf16)", s);
}

void FloatToBf16(const float* x, int64_t n, uint16_t* y) {
  int64_t i = 0;
#if defined(__AVX512F__) && defined(__AVX512BW__)
  const __m512i one = _mm512_set1_epi32(1), bias = _mm512_set1_epi32(0x7FFF);
  for (; i + 16 <= n; i += 16) {
    const __m512i b = _mm512_loadu_si512(x + i);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(b, 16), one);
    __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(b, bias), lsb), 16);
    // NaN stays NaN (quiet): rounding could carry it into an infinity.
    const __mmask16 nan =
        _mm512_cmp_ps_mask(_mm512_castsi512_ps(b), _mm512_castsi512_ps(b), _CMP_UNORD_Q);
    r = _mm512_mask_or_epi32(r, nan, _mm512_srli_epi32(b, 16), _mm512_set1_epi32(0x40));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), _mm512_cvtepi32_epi16(r));
  }
#endif
  for (; i < n; ++i) {
    uint32_t b;
    std::memcpy(&b, &x[i], 4);
    const bool nan = (b & 0x7FFFFFFFu) > 0x7F800000u;
    const uint32_t rounded = (b + 0x7FFFu + ((b >> 16) & 1u)) >> 16;
    y[i] = static_cast<uint16_t>(nan ? ((b >> 16) | 0x40u) : rounded);
  }
}

void Bf16ToFloat(const uint16_t* x, int64_t n, float* y) {
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i));
    _mm512_storeu_si512(y + i, _mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
#endif
  for (; i < n; ++i) {
    const uint32_t b = static_cast<uint32_t>(x[i]) << 16;
    std::memcpy(&y[i], &b, 4);
  }
}

GemmWeight::GemmWeight(int64_t out, int64_t in, Compute type) : out_(out), in_(in), type_(type) {
  if (out <= 0 || in <= 0) Fail("GEMM weight of shape [{}, {}]", out, in);
  if (type == Compute::kF32) {
    f32_.resize(out * in);
  } else {
    b16_.resize(out * in);
  }
}

void GemmWeight::SetRows(int64_t r0, int64_t n, const float* rows) {
  if (r0 < 0 || n < 0 || r0 + n > out_) Fail("GEMM weight: rows [{}, {}) of {}", r0, r0 + n, out_);
  if (type_ == Compute::kF32) {
    std::memcpy(f32_.data() + r0 * in_, rows, n * in_ * sizeof(float));
  } else {
    FloatToBf16(rows, n * in_, b16_.data() + r0 * in_);
  }
}

void GemmWeight::GetRow(int64_t r, float* dst) const {
  if (type_ == Compute::kF32) {
    std::memcpy(dst, f32_.data() + r * in_, in_ * sizeof(float));
  } else {
    Bf16ToFloat(b16_.data() + r * in_, in_, dst);
  }
}

int64_t GemmWeight::bytes() const { return out_ * in_ * (type_ == Compute::kF32 ? 4 : 2); }

void Gemm(const float* x, int64_t n, const GemmWeight& w, const float* bias, float* y) {
  if (n <= 0) return;
  const Key key{n, w.out(), w.in(), w.type(), bias != nullptr};
  Plan& p = PlanFor(key);
  const void* src = x;
  thread_local std::vector<uint16_t> x16;
  if (w.type() == Compute::kBf16) {
    x16.resize(n * w.in());
    uint16_t* dst = x16.data();  // this thread's buffer (the workers' thread_locals differ)
    const int64_t total = n * w.in();
    const int64_t chunk = 4096;
#pragma omp parallel for schedule(static) if (total > 4 * chunk)
    for (int64_t i = 0; i < total; i += chunk) {
      FloatToBf16(x + i, std::min(chunk, total - i), dst + i);
    }
    src = dst;
  }
  memory src_m(p.pd.src_desc(), Engine(), const_cast<void*>(src));
  memory wei_m(p.pd.weights_desc(), Engine(), const_cast<void*>(w.data()));
  memory dst_m(p.pd.dst_desc(), Engine(), y);
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, src_m}, {DNNL_ARG_WEIGHTS, wei_m}, {DNNL_ARG_DST, dst_m}};
  if (bias != nullptr) {
    args.emplace(DNNL_ARG_BIAS, memory(p.pd.bias_desc(), Engine(), const_cast<float*>(bias)));
  }
  thread_local dnnl::stream stream(Engine());
  p.prim.execute(stream, args);
  stream.wait();
}

std::string GemmImplementation(int64_t n, int64_t out, int64_t in, Compute type) {
  return PlanFor({n, out, in, type, false}).pd.impl_info_str();
}

}  // namespace starattn::cpu
