// QMatMul (AVX-512 where built with it) against its double oracle on random int8 weights.
#include "engine/cpu/qmatmul.h"

#include <gtest/gtest.h>
#include <immintrin.h>

#include <tuple>

#include "engine/common/error.h"
#include "engine/common/testing.h"
#include "engine/cpu/ops_ref.h"

namespace starattn::cpu {
namespace {

using testing::AllClose;
using testing::kFp32Reduction;
using testing::Rng;
using testing::SeedTrace;

// x rounded to IEEE half (as GGUF stores block scales).
float HalfRound(float x) { return _cvtsh_ss(_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT)); }

// Random weights: q over the whole int8 range, positive scales, offsets unless symmetric.
QMatrix RandomQMatrix(Rng& rng, int64_t rows, int64_t cols, bool with_offsets) {
  QMatrix w = QMatrix::Allocate(rows, cols);
  for (auto& q : w.q) q = static_cast<int8_t>(static_cast<int>(rng.NextU64() % 256) - 128);
  for (auto& s : w.scale) s = rng.Uniform(1e-4f, 2e-2f);
  for (auto& o : w.offset) o = with_offsets ? rng.Uniform(-0.1f, 0.1f) : 0.0f;
  w.DropZeroOffsets();
  return w;
}

// (n, cols, rows, offsets, bias)
class QMatMulTest
    : public ::testing::TestWithParam<std::tuple<int64_t, int64_t, int64_t, bool, bool>> {};

TEST_P(QMatMulTest, MatchesOracle) {
  const auto [n, cols, rows, with_offsets, with_bias] = GetParam();
  const uint64_t seed = 5000 + n * 7 + cols * 13 + rows * 3 + with_offsets;
  SCOPED_TRACE(SeedTrace(seed));
  Rng rng(seed);
  const QMatrix w = RandomQMatrix(rng, rows, cols, with_offsets);
  ASSERT_EQ(w.offset.empty(), !with_offsets);
  const auto x = rng.UniformVector(n * cols, -1, 1);  // [n, cols]
  const auto b = rng.UniformVector(rows, -1, 1);      // [rows]
  std::vector<float> got(n * rows), want(n * rows);
  QMatMul(x.data(), n, w, with_bias ? b.data() : nullptr, got.data());
  ref::QMatMul(x.data(), n, w, with_bias ? b.data() : nullptr, want.data());
  // cols-term fp32 dot products vs double: reduction tolerance.
  AllClose(got, want, kFp32Reduction, "QMatMul");
}

// Odd and even run counts (1, 3, 18, 48 runs), one row and many, batches 1..7.
INSTANTIATE_TEST_SUITE_P(Shapes, QMatMulTest,
                         ::testing::Values(std::make_tuple(1, 32, 1, true, false),
                                           std::make_tuple(1, 96, 5, false, true),
                                           std::make_tuple(1, 576, 192, true, false),
                                           std::make_tuple(1, 576, 1536, false, false),
                                           std::make_tuple(1, 1536, 576, true, true),
                                           std::make_tuple(2, 576, 577, true, false),
                                           std::make_tuple(4, 1536, 64, false, true),
                                           std::make_tuple(7, 96, 33, true, true)));

// 4-bit quants: the packed form gives bit-identical results to the int8 form (same products in
// the same order) and matches the oracle; every element reads back unchanged.
TEST(QMatMulTest, NibblesEqualInt8Form) {
  for (const auto& [rows, cols, n, with_offsets] :
       {std::tuple{7, 96, 1, true}, std::tuple{576, 576, 1, true}, std::tuple{33, 1536, 3, false},
        std::tuple{1536, 576, 4, true}}) {
    const uint64_t seed = 7000 + rows + cols;
    SCOPED_TRACE(SeedTrace(seed));
    Rng rng(seed);
    QMatrix w8 = RandomQMatrix(rng, rows, cols, with_offsets);
    for (auto& q : w8.q) q = static_cast<int8_t>(rng.NextU64() % 16);
    QMatrix w4 = w8;
    ASSERT_TRUE(w4.PackNibbles());
    EXPECT_EQ(w4.bits, 4);
    EXPECT_EQ(w4.q.size() * 2, w8.q.size());
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t i = 0; i < cols; ++i) ASSERT_EQ(w4.Q(r, i), w8.Q(r, i)) << r << "," << i;
    }
    const auto x = rng.UniformVector(n * cols, -1, 1);
    std::vector<float> y8(n * rows), y4(n * rows), want(n * rows);
    QMatMul(x.data(), n, w8, nullptr, y8.data());
    QMatMul(x.data(), n, w4, nullptr, y4.data());
    ref::QMatMul(x.data(), n, w4, nullptr, want.data());
    for (size_t i = 0; i < y8.size(); ++i) ASSERT_EQ(y4[i], y8[i]) << i;
    AllClose(y4, want, kFp32Reduction, "QMatMul 4-bit");
  }
}

// Scales and offsets in IEEE half (when exact) give bit-identical results to fp32 storage, in
// both quant forms; a scale half cannot hold leaves the matrix unchanged.
TEST(QMatMulTest, HalfScalesEqualFloatScales) {
  const uint64_t seed = 7700;
  SCOPED_TRACE(SeedTrace(seed));
  Rng rng(seed);
  for (bool nibbles : {false, true}) {
    QMatrix w = RandomQMatrix(rng, 96, 576, /*with_offsets=*/true);
    for (auto& q : w.q) q = static_cast<int8_t>(rng.NextU64() % 16);
    for (auto& v : w.scale) v = HalfRound(v);
    for (auto& v : w.offset) v = HalfRound(v);
    if (nibbles) {
      ASSERT_TRUE(w.PackNibbles());
    }
    QMatrix h = w;
    ASSERT_TRUE(h.PackHalfScales());
    EXPECT_TRUE(h.scale.empty());
    EXPECT_EQ(h.bytes(), w.bytes() - 2 * static_cast<int64_t>(w.scale.size() + w.offset.size()));
    for (int64_t n : {1, 3}) {
      const auto x = rng.UniformVector(n * 576, -1, 1);
      std::vector<float> yf(n * 96), yh(n * 96);
      QMatMul(x.data(), n, w, nullptr, yf.data());
      QMatMul(x.data(), n, h, nullptr, yh.data());
      for (size_t i = 0; i < yf.size(); ++i) ASSERT_EQ(yh[i], yf[i]) << i;
    }
  }
  QMatrix odd = RandomQMatrix(rng, 2, 32, false);
  odd.scale[0] = 1.0f + 1.0f / 4096;  // needs 13 significant bits
  EXPECT_FALSE(odd.PackHalfScales());
  EXPECT_FALSE(odd.half_scales());
}

TEST(QMatMulTest, PackNibblesRefusesOutOfRange) {
  QMatrix m = QMatrix::Allocate(2, 32);
  m.q[5] = 16;
  EXPECT_FALSE(m.PackNibbles());
  m.q[5] = -1;
  EXPECT_FALSE(m.PackNibbles());
  EXPECT_EQ(m.bits, 8);
  EXPECT_EQ(m.q.size(), 64u);
  m.q[5] = 15;
  EXPECT_TRUE(m.PackNibbles());
  EXPECT_EQ(m.Q(0, 5), 15);
  EXPECT_EQ(m.bytes(), 32 + 4 * (2 + 2));
}

TEST(QMatMulTest, AllocateRejectsBadShapes) {
  EXPECT_THROW(QMatrix::Allocate(4, 48), Error);
  EXPECT_THROW(QMatrix::Allocate(0, 32), Error);
  EXPECT_THROW(QMatrix::Allocate(4, 0), Error);
  const QMatrix m = QMatrix::Allocate(3, 64);
  EXPECT_EQ(m.bytes(), 3 * 64 + 4 * (3 * 2 * 2));
}

TEST(QMatMulTest, DropZeroOffsetsKeepsNonZero) {
  QMatrix m = QMatrix::Allocate(1, 64);
  m.offset[1] = -0.5f;
  m.DropZeroOffsets();
  EXPECT_EQ(m.offset.size(), 2u);
  m.offset[1] = 0.0f;
  m.DropZeroOffsets();
  EXPECT_TRUE(m.offset.empty());
}

}  // namespace
}  // namespace starattn::cpu
