// Dequantization against gguf-py's reference (fixtures from tools/make_io_fixtures.py) and the
// fp16/bf16 conversions against an independent ldexp formula over all 65536 inputs.
#include "engine/io/dequant.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "engine/common/error.h"
#include "engine/common/mapped_file.h"
#include "engine/common/testing.h"

namespace starattn {
namespace {

constexpr int64_t kFixtureElements = 1024;

std::vector<float> LoadF32(const std::string& path) {
  const std::string bytes = ReadFileToString(path);
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

// Exact comparison, bit for bit (NaNs included): ggml and gguf-py do the same fp32 operations
// in the same order without fused multiply-adds, so there is no rounding to tolerate.
void ExpectSameBits(const std::vector<float>& got, const std::vector<float>& want,
                    const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    const auto g = std::bit_cast<uint32_t>(got[i]);
    const auto w = std::bit_cast<uint32_t>(want[i]);
    ASSERT_EQ(g, w) << what << " element " << i << ": got " << got[i] << " want " << want[i];
  }
}

class DequantFixtureTest : public ::testing::TestWithParam<GgmlType> {};

TEST_P(DequantFixtureTest, MatchesGgufPyBitExactly) {
  const GgmlType type = GetParam();
  const std::string name = TypeName(static_cast<uint32_t>(type));
  const std::string blocks = ReadFileToString(testing::FixturePath("io/dequant/" + name + ".bin"));
  const std::vector<float> want = LoadF32(testing::FixturePath("io/dequant/" + name + ".f32"));
  ASSERT_EQ(want.size(), static_cast<size_t>(kFixtureElements));
  ASSERT_EQ(blocks.size(), RowBytes(type, kFixtureElements));
  EXPECT_TRUE(IsSupportedType(static_cast<uint32_t>(type)));

  std::vector<float> got(kFixtureElements);
  Dequantize(type, blocks.data(), kFixtureElements, got.data());
  ExpectSameBits(got, want, name);

  // Misaligned source: block structs are packed, so any byte offset must work.
  std::string shifted = " " + blocks;
  std::vector<float> got2(kFixtureElements);
  Dequantize(type, shifted.data() + 1, kFixtureElements, got2.data());
  ExpectSameBits(got2, want, name + " (unaligned)");
}

// The int8 form reproduces gguf-py's values (compared by value: scale * q + 0 is +0 where
// gguf-py's product is -0), with quants in each format's range.
TEST_P(DequantFixtureTest, Blocks32FormMatchesGgufPy) {
  const GgmlType type = GetParam();
  const std::string name = TypeName(static_cast<uint32_t>(type));
  const bool expected = type == GgmlType::kQ4_0 || type == GgmlType::kQ4_1 ||
                        type == GgmlType::kQ5_0 || type == GgmlType::kQ5_1 ||
                        type == GgmlType::kQ8_0 || type == GgmlType::kQ4_K ||
                        type == GgmlType::kQ5_K;
  ASSERT_EQ(HasBlocks32Form(type), expected) << name;
  const std::string blocks = ReadFileToString(testing::FixturePath("io/dequant/" + name + ".bin"));
  std::vector<int8_t> q(kFixtureElements);
  std::vector<float> scale(kFixtureElements / 32), offset(kFixtureElements / 32);
  if (!expected) {
    EXPECT_THROW(DecomposeBlocks32(type, blocks.data(), kFixtureElements, q.data(), scale.data(),
                                   offset.data()),
                 Error);
    return;
  }
  const std::vector<float> want = LoadF32(testing::FixturePath("io/dequant/" + name + ".f32"));
  DecomposeBlocks32(type, blocks.data(), kFixtureElements, q.data(), scale.data(), offset.data());
  int lo = 127, hi = -128;
  for (int64_t i = 0; i < kFixtureElements; ++i) {
    const float v = static_cast<float>(q[i]) * scale[i / 32] + offset[i / 32];
    ASSERT_EQ(v, want[i]) << name << " element " << i;
    lo = std::min<int>(lo, q[i]);
    hi = std::max<int>(hi, q[i]);
  }
  const std::pair<int, int> range = type == GgmlType::kQ4_0   ? std::pair{-8, 7}
                                    : type == GgmlType::kQ5_0 ? std::pair{-16, 15}
                                    : type == GgmlType::kQ8_0 ? std::pair{-128, 127}
                                    : type == GgmlType::kQ5_1 || type == GgmlType::kQ5_K
                                        ? std::pair{0, 31}
                                        : std::pair{0, 15};
  EXPECT_GE(lo, range.first) << name;
  EXPECT_LE(hi, range.second) << name;
  if (type == GgmlType::kQ4_0 || type == GgmlType::kQ5_0 || type == GgmlType::kQ8_0) {
    for (float o : offset) ASSERT_EQ(o, 0.0f) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(AllSupported, DequantFixtureTest,
                         ::testing::Values(GgmlType::kF32, GgmlType::kF16, GgmlType::kBF16,
                                           GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ4_1,
                                           GgmlType::kQ5_0, GgmlType::kQ5_1, GgmlType::kQ4_K,
                                           GgmlType::kQ5_K, GgmlType::kQ6_K),
                         [](const auto& info) {
                           return TypeName(static_cast<uint32_t>(info.param));
                         });

TEST(DequantTest, TypeTable) {
  EXPECT_EQ(TypeName(0), "F32");
  EXPECT_EQ(TypeName(3), "Q4_1");
  EXPECT_EQ(TypeName(14), "Q6_K");
  EXPECT_EQ(TypeName(30), "BF16");
  EXPECT_EQ(TypeName(10), "Q2_K");
  EXPECT_EQ(TypeName(4), "type4");  // removed Q4_2
  EXPECT_EQ(TypeName(1000), "type1000");

  struct Row {
    GgmlType type;
    int64_t block;
    size_t bytes;
  };
  // Sizes of ggml's block_* structs.
  for (const Row& r :
       {Row{GgmlType::kF32, 1, 4}, Row{GgmlType::kF16, 1, 2}, Row{GgmlType::kBF16, 1, 2},
        Row{GgmlType::kQ4_0, 32, 18}, Row{GgmlType::kQ4_1, 32, 20}, Row{GgmlType::kQ5_0, 32, 22},
        Row{GgmlType::kQ5_1, 32, 24}, Row{GgmlType::kQ8_0, 32, 34}, Row{GgmlType::kQ8_1, 32, 40},
        Row{GgmlType::kQ2_K, 256, 84}, Row{GgmlType::kQ3_K, 256, 110},
        Row{GgmlType::kQ4_K, 256, 144}, Row{GgmlType::kQ5_K, 256, 176},
        Row{GgmlType::kQ6_K, 256, 210}, Row{GgmlType::kQ8_K, 256, 292}}) {
    EXPECT_EQ(BlockSize(r.type), r.block) << TypeName(static_cast<uint32_t>(r.type));
    EXPECT_EQ(BlockBytes(r.type), r.bytes) << TypeName(static_cast<uint32_t>(r.type));
  }
  EXPECT_EQ(RowBytes(GgmlType::kQ4_K, 512), 288u);
  EXPECT_EQ(RowBytes(GgmlType::kF16, 7), 14u);
  EXPECT_THROW(RowBytes(GgmlType::kQ4_0, 33), Error);
  // 2^62 F32 elements are 2^64 bytes: an Error, not a wrapped 0.
  EXPECT_THAT([] { RowBytes(GgmlType::kF32, int64_t{1} << 62); },
              ::testing::ThrowsMessage<Error>(
                  "bytes of 4611686018427387904 elements of type F32: 4611686018427387904 x 4 "
                  "overflows an unsigned 64-bit integer"));
  EXPECT_THROW(BlockSize(static_cast<GgmlType>(1000)), Error);

  for (uint32_t id : {0u, 1u, 2u, 3u, 6u, 7u, 8u, 12u, 13u, 14u, 30u}) {
    EXPECT_TRUE(IsSupportedType(id)) << id;
  }
  for (uint32_t id : {4u, 5u, 9u, 10u, 11u, 15u, 16u, 20u, 28u, 1000u}) {
    EXPECT_FALSE(IsSupportedType(id)) << id;
  }
}

TEST(DequantTest, UnsupportedTypeThrows) {
  std::vector<uint8_t> src(84 * 2);
  std::vector<float> dst(512);
  EXPECT_THROW(Dequantize(GgmlType::kQ2_K, src.data(), 512, dst.data()), Error);
  EXPECT_THROW(Dequantize(static_cast<GgmlType>(77), src.data(), 32, dst.data()), Error);
  EXPECT_THAT([&] { Dequantize(GgmlType::kQ3_K, src.data(), 256, dst.data()); },
              testing::ThrowsOneLineError("Q3_K"));
  // Not a whole number of blocks.
  EXPECT_THROW(Dequantize(GgmlType::kQ4_K, src.data(), 100, dst.data()), Error);
}

TEST(DequantTest, EmptyInputIsFine) {
  float dst = 42.0f;
  Dequantize(GgmlType::kQ4_K, nullptr, 0, &dst);
  Dequantize(GgmlType::kF32, nullptr, 0, &dst);
  EXPECT_EQ(dst, 42.0f);
}

// value = (-1)^s * 2^(e - bias) * (1 + m / 2^mbits), subnormals 2^(1 - bias) * (m / 2^mbits).
double IeeeValue(uint32_t bits, int ebits, int mbits) {
  const uint32_t sign = bits >> (ebits + mbits);
  const uint32_t e = (bits >> mbits) & ((1u << ebits) - 1);
  const uint32_t m = bits & ((1u << mbits) - 1);
  const int bias = (1 << (ebits - 1)) - 1;
  double v = e == 0 ? std::ldexp(static_cast<double>(m), 1 - bias - mbits)
                    : std::ldexp(static_cast<double>(m + (1u << mbits)),
                                 static_cast<int>(e) - bias - mbits);
  return sign ? -v : v;
}

TEST(DequantTest, HalfToFloatExhaustive) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const float f = HalfToFloat(static_cast<uint16_t>(h));
    const uint32_t exp = (h >> 10) & 0x1F;
    const uint32_t mant = h & 0x3FF;
    const bool negative = (h & 0x8000) != 0;
    ASSERT_EQ(std::signbit(f), negative) << std::hex << h;
    if (exp == 0x1F && mant == 0) {
      ASSERT_TRUE(std::isinf(f)) << std::hex << h;
    } else if (exp == 0x1F) {
      ASSERT_TRUE(std::isnan(f)) << std::hex << h;
      // Payload kept in the top mantissa bits, quiet bit set.
      ASSERT_EQ(std::bit_cast<uint32_t>(f),
                (negative ? 0x80000000u : 0u) | 0x7FC00000u | (mant << 13))
          << std::hex << h;
    } else {
      ASSERT_EQ(static_cast<double>(f), IeeeValue(h, 5, 10)) << std::hex << h;
    }
  }
  EXPECT_EQ(HalfToFloat(0x3C00), 1.0f);
  EXPECT_EQ(HalfToFloat(0xC000), -2.0f);
  EXPECT_EQ(HalfToFloat(0x7BFF), 65504.0f);
  EXPECT_EQ(HalfToFloat(0x0001), std::ldexp(1.0f, -24));     // smallest subnormal
  EXPECT_EQ(HalfToFloat(0x03FF), std::ldexp(1023.0f, -24));  // largest subnormal
  EXPECT_EQ(HalfToFloat(0x0400), std::ldexp(1.0f, -14));     // smallest normal
  EXPECT_EQ(std::bit_cast<uint32_t>(HalfToFloat(0x8000)), 0x80000000u);
  EXPECT_EQ(HalfToFloat(0x7C00), INFINITY);
  EXPECT_EQ(HalfToFloat(0xFC00), -INFINITY);
  EXPECT_TRUE(std::isnan(HalfToFloat(0x7E00)));
  EXPECT_TRUE(std::isnan(HalfToFloat(0x7C01)));  // signalling NaN stays NaN
}

TEST(DequantTest, Bf16ToFloatExhaustive) {
  for (uint32_t b = 0; b <= 0xFFFF; ++b) {
    const float f = Bf16ToFloat(static_cast<uint16_t>(b));
    const uint32_t exp = (b >> 7) & 0xFF;
    const uint32_t mant = b & 0x7F;
    ASSERT_EQ(std::signbit(f), (b & 0x8000) != 0) << std::hex << b;
    if (exp == 0xFF) {
      ASSERT_EQ(std::isinf(f), mant == 0) << std::hex << b;
      ASSERT_EQ(std::isnan(f), mant != 0) << std::hex << b;
    } else {
      ASSERT_EQ(static_cast<double>(f), IeeeValue(b, 8, 7)) << std::hex << b;
    }
  }
  EXPECT_EQ(Bf16ToFloat(0x3F80), 1.0f);
  EXPECT_EQ(Bf16ToFloat(0xC000), -2.0f);
  EXPECT_EQ(Bf16ToFloat(0x0001), std::ldexp(1.0f, -133));  // smallest subnormal
  EXPECT_EQ(Bf16ToFloat(0x7F80), INFINITY);
  EXPECT_EQ(Bf16ToFloat(0xFF80), -INFINITY);
  EXPECT_TRUE(std::isnan(Bf16ToFloat(0x7FC0)));
  EXPECT_EQ(std::bit_cast<uint32_t>(Bf16ToFloat(0x7F81)), 0x7F810000u);  // payload kept
}

}  // namespace
}  // namespace starattn
