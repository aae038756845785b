#include "engine/io/qmatrix.h"

#include <immintrin.h>

#include <algorithm>

#include "engine/common/error.h"
#include "engine/io/dequant.h"

namespace starattn {

int64_t QMatrix::bytes() const {
  return static_cast<int64_t>(q.size() + sizeof(float) * (scale.size() + offset.size()) +
                              sizeof(uint16_t) * (scale_h.size() + offset_h.size()));
}

float QMatrix::Scale(int64_t b) const { return half_scales() ? HalfToFloat(scale_h[b]) : scale[b]; }

float QMatrix::Offset(int64_t b) const {
  if (!offset_h.empty()) return HalfToFloat(offset_h[b]);
  return offset.empty() ? 0.0f : offset[b];
}

namespace {

// x as IEEE half, when exactly representable (finite, normal or subnormal without loss).
bool ExactHalf(float x, uint16_t* h) {
#if defined(__F16C__)
  *h = _cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT);
  return HalfToFloat(*h) == x;
#else
  (void)x;
  (void)h;
  return false;
#endif
}

}  // namespace

bool QMatrix::PackHalfScales() {
  if (half_scales()) return true;
  std::vector<uint16_t> s(scale.size()), o(offset.size());
  for (size_t i = 0; i < scale.size(); ++i) {
    if (!ExactHalf(scale[i], &s[i])) return false;
  }
  for (size_t i = 0; i < offset.size(); ++i) {
    if (!ExactHalf(offset[i], &o[i])) return false;
  }
  scale_h = std::move(s);
  offset_h = std::move(o);
  scale.clear();
  scale.shrink_to_fit();
  offset.clear();
  offset.shrink_to_fit();
  return true;
}

QMatrix QMatrix::Allocate(int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0 || cols % kRun != 0) {
    Fail("int8 weights need a positive number of rows and a multiple of {} columns, got [{}, {}]",
         kRun, rows, cols);
  }
  QMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.q.resize(static_cast<size_t>(rows * cols));
  m.scale.resize(static_cast<size_t>(rows * cols / kRun));
  m.offset.resize(static_cast<size_t>(rows * cols / kRun));
  return m;
}

bool QMatrix::PackNibbles() {
  if (bits == 4) return true;
  if (std::any_of(q.begin(), q.end(), [](int8_t v) { return v < 0 || v > 15; })) return false;
  std::vector<int8_t> packed(q.size() / 2);
  for (size_t run = 0; run < q.size() / kRun; ++run) {
    for (int64_t j = 0; j < kRun / 2; ++j) {
      const int8_t* src = q.data() + run * kRun;
      packed[run * (kRun / 2) + j] = static_cast<int8_t>(src[j] | (src[j + kRun / 2] << 4));
    }
  }
  q = std::move(packed);
  bits = 4;
  return true;
}

int QMatrix::Q(int64_t r, int64_t i) const {
  if (bits == 8) return q[r * cols + i];
  const int64_t run = (r * cols + i) / kRun, j = i % kRun;
  const auto byte = static_cast<uint8_t>(q[run * (kRun / 2) + j % (kRun / 2)]);
  return j < kRun / 2 ? byte & 0x0F : byte >> 4;
}

void QMatrix::DropZeroOffsets() {
  if (std::all_of(offset.begin(), offset.end(), [](float o) { return o == 0.0f; })) {
    offset.clear();
    offset.shrink_to_fit();
  }
}

}  // namespace starattn
