// RoPE's frequency tables.
#include "engine/model/rope.h"

#include <gtest/gtest.h>

namespace starattn {
namespace {

TEST(Llama3FreqFactorsTest, KnownBands) {
  // theta 500000, d 128, factor 8, low 1, high 4, original 8192 (Llama 3.1): the fastest
  // frequencies are untouched, the slowest divided by 8.
  const auto f = Llama3FreqFactors(128, 500000.f, 8.f, 1.f, 4.f, 8192);
  ASSERT_EQ(f.size(), 64u);
  EXPECT_FLOAT_EQ(f.front(), 1.0f);
  EXPECT_FLOAT_EQ(f.back(), 8.0f);
  for (size_t i = 1; i < f.size(); ++i) EXPECT_GE(f[i], f[i - 1]);
}

TEST(RopeInvFreqTest, ThetaPowersDividedByFactors) {
  const auto plain = RopeInvFreq(8, 10000.f, {});
  ASSERT_EQ(plain.size(), 4u);
  EXPECT_FLOAT_EQ(plain[0], 1.0f);
  EXPECT_FLOAT_EQ(plain[2], 0.01f);  // 10000^(-4/8)
  const auto scaled = RopeInvFreq(8, 10000.f, {1.f, 2.f, 4.f, 8.f});
  for (size_t i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(scaled[i], plain[i] / (1 << i));
}

}  // namespace
}  // namespace starattn
