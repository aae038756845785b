// A model's weight matrices as its file stores them, read on demand: each backend takes them into
// its own compute form (fp32, bf16, the int8 runs of GGUF blocks, device memory) row block by row
// block, so no full fp32 copy of the model is ever made. Norms and biases are small and kept in
// fp32.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/io/qmatrix.h"

namespace starattn {

class WeightMatrix {
 public:
  WeightMatrix() = default;
  // An fp32 matrix in memory (tests, tools).   w: [rows, cols]
  static WeightMatrix FromF32(std::vector<float> w, int64_t rows, int64_t cols);
  // `rows` rows of `cols` elements of GGML type `type_id` at `data` (a GGUF tensor, or a
  // safetensors tensor as F32/F16/BF16), valid while `keepalive` lives. The pages read are
  // released from this process after each read (they stay in the page cache).
  static WeightMatrix FromFile(std::shared_ptr<const void> keepalive, const uint8_t* data,
                               uint32_t type_id, int64_t rows, int64_t cols);

  bool empty() const { return rows_ == 0; }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t size() const { return rows_ * cols_; }
  uint32_t type_id() const { return type_id_; }
  // Rows [r0, r0 + n) as fp32 into dst: [n, cols].
  void ReadRows(int64_t r0, int64_t n, float* dst) const;
  // Every row as fp32 (tests and tools; backends read row blocks).
  std::vector<float> ReadAll() const;
  // Calls f(r0, n, rows [n, cols] fp32) for consecutive blocks of about `block_bytes` of fp32.
  template <typename F>
  void ForEachRowBlock(int64_t block_bytes, F&& f) const;
  // The exact int8/4-bit form (io/qmatrix.h) when the file's type has one and cols is a multiple
  // of 32; empty otherwise.
  QMatrix Blocks32() const;

 private:
  std::shared_ptr<const void> keep_;
  const uint8_t* data_ = nullptr;
  bool is_file_ = false;  // data_ points into a file mapping (FromFile)
  uint32_t type_id_ = 0;  // GgmlType
  int64_t rows_ = 0, cols_ = 0;
};

template <typename F>
void WeightMatrix::ForEachRowBlock(int64_t block_bytes, F&& f) const {
  const int64_t per = std::max<int64_t>(1, block_bytes / (4 * std::max<int64_t>(cols_, 1)));
  std::vector<float> buf(std::min(per, rows_) * cols_);
  for (int64_t r0 = 0; r0 < rows_; r0 += per) {
    const int64_t n = std::min(per, rows_ - r0);
    ReadRows(r0, n, buf.data());
    f(r0, n, buf.data());
  }
}

}  // namespace starattn
