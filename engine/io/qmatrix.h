// Weights kept as int8 runs of 32 with a scale and an offset per run: the exact form of the
// GGUF block types (io/dequant.h: DecomposeBlocks32), a quarter of fp32's bytes. The CPU decodes
// with these (cpu/qmatmul.h) instead of an fp32 copy: small batches are bound by reading weights.
#pragma once

#include <cstdint>
#include <vector>

namespace starattn {

// w[r, i] = scale[r, i / 32] * q[r, i] + offset[r, i / 32]
// q is int8, or after PackNibbles 4-bit (the Q4_1/Q4_K quants, 0..15): half the bytes.
struct QMatrix {
  static constexpr int64_t kRun = 32;
  int64_t rows = 0;
  int64_t cols = 0;           // a multiple of kRun
  int bits = 8;               // 8: q[r * cols + i];  4: see Q()
  std::vector<int8_t> q;      // [rows, cols] int8, or [rows, cols / 2] nibble pairs
  std::vector<float> scale;   // [rows, cols / kRun]
  std::vector<float> offset;  // [rows, cols / kRun]; empty when every offset is 0
  // The same in IEEE half after PackHalfScales (then `scale` and `offset` are empty): GGUF's
  // Q4_0/Q4_1/Q5_x/Q8_0 store them so, and decoding reads 20% fewer bytes.
  std::vector<uint16_t> scale_h, offset_h;
  bool empty() const { return rows == 0; }
  bool half_scales() const { return !scale_h.empty(); }
  bool has_offset() const { return !offset.empty() || !offset_h.empty(); }
  // Scale and offset of run b (flat index r * cols / kRun + run) in either form.
  float Scale(int64_t b) const;
  float Offset(int64_t b) const;
  int64_t bytes() const;
  // Allocates rows x cols of int8 quants; throws Error unless cols is a positive multiple of
  // kRun.
  static QMatrix Allocate(int64_t rows, int64_t cols);
  // Drops the offsets when all are zero (the symmetric formats).
  void DropZeroOffsets();
  // Repacks int8 quants that all lie in [0, 15] as 4-bit: in each run of 32, byte j holds
  // element j (low nibble) and element j + 16 (high nibble), as GGUF's Q4 blocks do. Returns
  // false (and changes nothing) when some quant is outside [0, 15].
  bool PackNibbles();
  // The quant of element (r, i) in either form.
  int Q(int64_t r, int64_t i) const;
  // Moves scales and offsets to IEEE half when every value is exactly representable there
  // (returns true); changes nothing otherwise.
  bool PackHalfScales();
};

}  // namespace starattn
