#include "engine/model/weights.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "engine/common/error.h"
#include "engine/io/dequant.h"

namespace starattn {
namespace {

// Releases the whole pages inside [p, p + n) of a read-only file mapping from this process's
// resident set; a later read faults them in again from the page cache.
void DropPages(const uint8_t* p, size_t n) {
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t a = (reinterpret_cast<uintptr_t>(p) + page - 1) / page * page;
  const uintptr_t b = (reinterpret_cast<uintptr_t>(p) + n) / page * page;
  if (b > a) madvise(reinterpret_cast<void*>(a), b - a, MADV_DONTNEED);
}

}  // namespace

WeightMatrix WeightMatrix::FromF32(std::vector<float> w, int64_t rows, int64_t cols) {
  if (rows < 0 || cols < 0 || static_cast<int64_t>(w.size()) != rows * cols) {
    Fail("weight matrix [{}, {}] from {} values", rows, cols, w.size());
  }
  auto owned = std::make_shared<std::vector<float>>(std::move(w));
  WeightMatrix m;
  m.data_ = reinterpret_cast<const uint8_t*>(owned->data());
  m.keep_ = std::move(owned);
  m.type_id_ = static_cast<uint32_t>(GgmlType::kF32);
  m.rows_ = rows;
  m.cols_ = cols;
  return m;
}

WeightMatrix WeightMatrix::FromFile(std::shared_ptr<const void> keepalive, const uint8_t* data,
                                    uint32_t type_id, int64_t rows, int64_t cols) {
  if (!IsSupportedType(type_id)) Fail("weights of type {} cannot be read", TypeName(type_id));
  if (cols % BlockSize(static_cast<GgmlType>(type_id)) != 0) {
    Fail("weight rows of {} elements do not hold whole {} blocks", cols, TypeName(type_id));
  }
  WeightMatrix m;
  m.keep_ = std::move(keepalive);
  m.is_file_ = true;
  m.data_ = data;
  m.type_id_ = type_id;
  m.rows_ = rows;
  m.cols_ = cols;
  return m;
}

void WeightMatrix::ReadRows(int64_t r0, int64_t n, float* dst) const {
  if (r0 < 0 || n < 0 || r0 + n > rows_) Fail("weight rows [{}, {}) of {}", r0, r0 + n, rows_);
  const auto type = static_cast<GgmlType>(type_id_);
  const size_t row_bytes = RowBytes(type, cols_);
  const uint8_t* src = data_ + static_cast<size_t>(r0) * row_bytes;
  Dequantize(type, src, n * cols_, dst);
  if (is_file_) DropPages(src, static_cast<size_t>(n) * row_bytes);  // in-memory ones stay
}

std::vector<float> WeightMatrix::ReadAll() const {
  std::vector<float> w(size());
  ReadRows(0, rows_, w.data());
  return w;
}

QMatrix WeightMatrix::Blocks32() const {
  const auto type = static_cast<GgmlType>(type_id_);
  if (!HasBlocks32Form(type) || cols_ % QMatrix::kRun != 0 || rows_ == 0) return {};
  QMatrix q = QMatrix::Allocate(rows_, cols_);
  const size_t row_bytes = RowBytes(type, cols_);
  DecomposeBlocks32(type, data_, rows_ * cols_, q.q.data(), q.scale.data(), q.offset.data());
  if (is_file_) DropPages(data_, rows_ * row_bytes);
  q.DropZeroOffsets();
  q.PackNibbles();  // 4-bit quants (Q4_1, Q4_K) keep half the bytes
  return q;
}

}  // namespace starattn
