// Text helpers (Python semantics) and the random number generator of the ruler generators.
#include "ruler/text.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "engine/common/error.h"
#include "ruler/rng.h"

namespace starattn::ruler {
namespace {

TEST(RulerText, CollapseWhitespaceLikeReSub) {
  EXPECT_EQ(CollapseWhitespace("  a\n\nb\t c  "), "a b c");
  EXPECT_EQ(CollapseWhitespace("x\xc2\xa0y"), "x y");
  EXPECT_EQ(CollapseWhitespace("a\xff"
                               "b"),
            "a\xef\xbf\xbd"
            "b");
}

TEST(RulerText, FormatTemplateFillsOnce) {
  EXPECT_EQ(FormatTemplate("{a} and {b}", {{"a", "{b}"}, {"b", "x"}}), "{b} and x");
  EXPECT_THROW(FormatTemplate("{missing}", {{"a", "1"}}), Error);
  EXPECT_EQ(ReplaceAll("are all are", "are", "is"), "is all is");
}

TEST(RulerText, SentenceEnds) {
  const std::vector<std::string_view> words = {"Mr.",      "Smith",   "went.", "He",   "said",
                                               "\"yes.\"", "Really?", "e.g.",  "this", "J.",
                                               "Doe",      "wait...", "then",  "end"};
  const std::vector<bool> ends = SentenceEnds(words);
  const std::vector<bool> want = {false, false, true,  false, false, true,  true,
                                  false, false, false, false, false, false, true};
  EXPECT_EQ(ends, want);
}

TEST(RulerRng, DeterministicAndStreamsDiffer) {
  Rng a(7), b(7), c(7, 1), d(8);
  const uint64_t x = a.NextU64();
  EXPECT_EQ(x, b.NextU64());
  EXPECT_NE(x, c.NextU64());
  EXPECT_NE(x, d.NextU64());
  EXPECT_NE(SampleSeed(42, "vt", 4096, 0), SampleSeed(42, "vt", 4096, 1));
  EXPECT_NE(SampleSeed(42, "vt", 4096, 0), SampleSeed(42, "cwe", 4096, 0));
  EXPECT_NE(SampleSeed(42, "vt", 4096, 0), SampleSeed(42, "vt", 8192, 0));
  EXPECT_NE(SampleSeed(42, "vt", 4096, 0), SampleSeed(43, "vt", 4096, 0));
}

TEST(RulerRng, BelowIsUniform) {
  Rng rng(1);
  std::vector<int> counts(10, 0);
  for (int i = 0; i < 100000; ++i) ++counts[rng.Below(10)];
  for (const int c : counts) EXPECT_NEAR(c, 10000, 500);  // ~5 sigma
  for (int i = 0; i < 1000; ++i) {
    const int64_t v = rng.Range(1000000, 9999999);
    EXPECT_GE(v, 1000000);
    EXPECT_LE(v, 9999999);
  }
}

TEST(RulerRng, SampleDistinctAndShuffle) {
  Rng rng(3);
  for (const auto& [n, k] :
       std::vector<std::pair<int64_t, int64_t>>{{40, 4}, {40, 40}, {1000000, 50}}) {
    const std::vector<int64_t> s = rng.SampleDistinct(n, k);
    ASSERT_EQ(static_cast<int64_t>(s.size()), k);
    EXPECT_EQ(static_cast<int64_t>(std::set<int64_t>(s.begin(), s.end()).size()), k);
    for (const int64_t v : s) EXPECT_TRUE(v >= 0 && v < n);
  }
  std::vector<int> v = {1, 2, 3, 4, 5, 6, 7, 8};
  rng.Shuffle(v);
  std::vector<int> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(RulerRng, Uuid4Form) {
  Rng rng(5);
  for (int i = 0; i < 100; ++i) {
    const std::string u = rng.Uuid4();
    ASSERT_EQ(u.size(), 36u);
    EXPECT_EQ(u[8], '-');
    EXPECT_EQ(u[13], '-');
    EXPECT_EQ(u[18], '-');
    EXPECT_EQ(u[23], '-');
    EXPECT_EQ(u[14], '4');                                                      // version
    EXPECT_TRUE(u[19] == '8' || u[19] == '9' || u[19] == 'a' || u[19] == 'b');  // variant
  }
  EXPECT_EQ(rng.Letters(5, true).size(), 5u);
}

}  // namespace
}  // namespace starattn::ruler
