#include "engine/cpu/qmatmul.h"

#include <immintrin.h>

#include <algorithm>

#include "engine/common/error.h"

namespace starattn::cpu {
namespace {

constexpr int64_t kRun = QMatrix::kRun;

// The quants of run b as fp32: elements 0..15 and 16..31. kBits = 8: 32 int8 bytes per run;
// kBits = 4: 16 bytes per run, low nibbles elements 0..15, high nibbles 16..31. Both forms give
// the same values, so the dot products below are bit-identical for either.
#if defined(__AVX512F__)
template <int kBits>
void RunQuants(const int8_t* q, int64_t b, __m512* lo, __m512* hi) {
  if constexpr (kBits == 8) {
    const auto* p = reinterpret_cast<const __m128i*>(q + b * kRun);
    *lo = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(p)));
    *hi = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(p + 1)));
  } else {
    const auto* p = reinterpret_cast<const __m128i*>(q + b * (kRun / 2));
    const __m512i bytes = _mm512_cvtepu8_epi32(_mm_loadu_si128(p));
    *lo = _mm512_cvtepi32_ps(_mm512_and_si512(bytes, _mm512_set1_epi32(0x0F)));
    *hi = _mm512_cvtepi32_ps(_mm512_srli_epi32(bytes, 4));
  }
}
#endif

inline float ToFloat(float x) { return x; }
inline float ToFloat(uint16_t h) { return _cvtsh_ss(h); }

// sum_b scale[b] * dot(quants of run b, x[32 b .. 32 b + 31]) over n_runs runs; scales in fp32
// or IEEE half (S = float or uint16_t).
template <int kBits, typename S>
float ScaledRunDots(const int8_t* q, const S* scale, const float* x, int64_t n_runs) {
#if defined(__AVX512F__)
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t b = 0;
  for (; b + 1 < n_runs; b += 2) {  // two runs per step: two independent accumulators
    const float* xa = x + b * kRun;
    __m512 qa0, qa1, qb0, qb1;
    RunQuants<kBits>(q, b, &qa0, &qa1);
    RunQuants<kBits>(q, b + 1, &qb0, &qb1);
    __m512 ta = _mm512_mul_ps(qa0, _mm512_loadu_ps(xa));
    __m512 tb = _mm512_mul_ps(qb0, _mm512_loadu_ps(xa + 32));
    ta = _mm512_fmadd_ps(qa1, _mm512_loadu_ps(xa + 16), ta);
    tb = _mm512_fmadd_ps(qb1, _mm512_loadu_ps(xa + 48), tb);
    acc0 = _mm512_fmadd_ps(_mm512_set1_ps(ToFloat(scale[b])), ta, acc0);
    acc1 = _mm512_fmadd_ps(_mm512_set1_ps(ToFloat(scale[b + 1])), tb, acc1);
  }
  if (b < n_runs) {
    const float* xa = x + b * kRun;
    __m512 q0, q1;
    RunQuants<kBits>(q, b, &q0, &q1);
    __m512 t = _mm512_mul_ps(q0, _mm512_loadu_ps(xa));
    t = _mm512_fmadd_ps(q1, _mm512_loadu_ps(xa + 16), t);
    acc0 = _mm512_fmadd_ps(_mm512_set1_ps(ToFloat(scale[b])), t, acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
#else
  float acc = 0.0f;
  for (int64_t b = 0; b < n_runs; ++b) {
    float t = 0.0f;
    for (int64_t i = 0; i < kRun; ++i) {
      int v;
      if constexpr (kBits == 8) {
        v = q[b * kRun + i];
      } else {
        const auto byte = static_cast<uint8_t>(q[b * (kRun / 2) + i % (kRun / 2)]);
        v = i < kRun / 2 ? byte & 0x0F : byte >> 4;
      }
      t += static_cast<float>(v) * x[b * kRun + i];
    }
    acc += ToFloat(scale[b]) * t;
  }
  return acc;
#endif
}

float Dot(const float* a, const float* b, int64_t n) {
  float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
  for (int64_t i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

// Half offsets are widened first, so both forms sum the same fp32 values in the same order.
float Dot(const uint16_t* a, const float* b, int64_t n) {
  float buf[512];
  float acc = 0.0f;
  for (int64_t i0 = 0; i0 < n; i0 += 512) {
    const int64_t m = std::min<int64_t>(512, n - i0);
    for (int64_t i = 0; i < m; ++i) buf[i] = ToFloat(a[i0 + i]);
    acc += Dot(buf, b + i0, m);
  }
  return acc;
}

template <typename S>
void QMatMulRows(const float* x, int64_t n, const QMatrix& w, const S* scale, const S* offset,
                 const float* xsum, const float* bias, float* y) {
  const int64_t runs = w.cols / kRun;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < w.rows; ++r) {
    const int8_t* qr = w.q.data() + r * w.cols * w.bits / 8;
    const S* sr = scale + r * runs;
    for (int64_t t = 0; t < n; ++t) {
      float v = w.bits == 4 ? ScaledRunDots<4>(qr, sr, x + t * w.cols, runs)
                            : ScaledRunDots<8>(qr, sr, x + t * w.cols, runs);
      if (offset != nullptr) v += Dot(offset + r * runs, xsum + t * runs, runs);
      y[t * w.rows + r] = bias != nullptr ? v + bias[r] : v;
    }
  }
}

}  // namespace

void QMatMul(const float* x, int64_t n, const QMatrix& w, const float* bias, float* y) {
  const int64_t runs = w.cols / kRun;
  const bool has_offset = w.has_offset();
  // Per-run sums of x: the offsets multiply them.   xsum: [n, runs]
  std::vector<float> xsum(has_offset ? static_cast<size_t>(n * runs) : 0);
  for (int64_t t = 0; has_offset && t < n; ++t) {
    for (int64_t b = 0; b < runs; ++b) {
      float s = 0.0f;
      for (int64_t i = 0; i < kRun; ++i) s += x[t * w.cols + b * kRun + i];
      xsum[t * runs + b] = s;
    }
  }
  if (w.half_scales()) {
    QMatMulRows<uint16_t>(x, n, w, w.scale_h.data(), has_offset ? w.offset_h.data() : nullptr,
                          xsum.data(), bias, y);
  } else {
    QMatMulRows<float>(x, n, w, w.scale.data(), has_offset ? w.offset.data() : nullptr, xsum.data(),
                       bias, y);
  }
}

}  // namespace starattn::cpu
