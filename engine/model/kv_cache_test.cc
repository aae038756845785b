// The KV cache as a typed view over backend memory: rows land per layer without overlap, copies
// between caches move every layer, and every bound is an error naming it.
#include "engine/model/kv_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/common/error.h"
#include "engine/common/testing.h"
#include "engine/model/model_testing.h"

namespace starattn {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

const Model& Tiny() {
  static std::unique_ptr<Model> m = Model::Load(testing::FixturePath("tiny/llama-tied/model.gguf"));
  return *m;
}

// Rows of value `base + r` (K) and `-base - r` (V), row r of n.
std::vector<float> Rows(int64_t n, int64_t row_elems, float base, float sign) {
  std::vector<float> x(n * row_elems);
  for (int64_t r = 0; r < n; ++r) {
    std::fill_n(x.begin() + r * row_elems, row_elems, sign * (base + static_cast<float>(r)));
  }
  return x;
}

TEST(KvCacheTest, WritesLandInTheirLayerAndRow) {
  testing::CpuHost h(Tiny());
  KvCache cache(*h.be, 6);
  const int64_t e = cache.row_elems();
  EXPECT_EQ(e, Tiny().config().n_kv_heads * Tiny().config().head_dim);
  EXPECT_EQ(cache.row_bytes(), e * 4);
  for (int64_t l = 0; l < Tiny().config().n_layers; ++l) {
    const auto k = Rows(3, e, 100.f * (l + 1), 1), v = Rows(3, e, 100.f * (l + 1), -1);
    cache.Write(l, 2, k.data(), v.data(), 3);
  }
  cache.Resize(5);
  for (int64_t l = 0; l < Tiny().config().n_layers; ++l) {
    const auto* k = static_cast<const float*>(cache.k(l));
    const auto* v = static_cast<const float*>(cache.v(l));
    for (int64_t r = 2; r < 5; ++r) {
      EXPECT_EQ(k[r * e], 100.f * (l + 1) + (r - 2)) << "layer " << l << " row " << r;
      EXPECT_EQ(v[r * e + e - 1], -(100.f * (l + 1) + (r - 2))) << "layer " << l << " row " << r;
    }
  }
  EXPECT_EQ(cache.used_bytes(), 2 * Tiny().config().n_layers * 5 * cache.row_bytes());
  EXPECT_EQ(cache.reserved_bytes(), 2 * Tiny().config().n_layers * 6 * cache.row_bytes());
}

TEST(KvCacheTest, CopyRowsMovesEveryLayer) {
  testing::CpuHost h(Tiny());
  KvCache a(*h.be, 4), b(*h.be, 3);
  const int64_t e = a.row_elems();
  for (int64_t l = 0; l < Tiny().config().n_layers; ++l) {
    const auto k = Rows(4, e, 10.f * l, 1), v = Rows(4, e, 10.f * l, -1);
    a.Write(l, 0, k.data(), v.data(), 4);
  }
  b.CopyRows(a, 1, 0, 2);  // a's rows 1, 2 -> b's rows 0, 1
  for (int64_t l = 0; l < Tiny().config().n_layers; ++l) {
    EXPECT_EQ(static_cast<const float*>(b.k(l))[0], 10.f * l + 1);
    EXPECT_EQ(static_cast<const float*>(b.v(l))[e], -(10.f * l + 2));
  }
}

TEST(KvCacheTest, BoundsAreErrors) {
  testing::CpuHost h(Tiny());
  KvCache cache(*h.be, 4);
  const auto k = Rows(3, cache.row_elems(), 0, 1);
  EXPECT_THAT(
      [&] { cache.Write(0, 2, k.data(), k.data(), 3); },
      ThrowsMessage<Error>(HasSubstr("KV cache full: writing rows [2, 5) beyond capacity 4")));
  EXPECT_THAT([&] { cache.Resize(5); },
              ThrowsMessage<Error>(HasSubstr("KV cache: size 5 outside capacity 4")));
  KvCache small(*h.be, 2);
  EXPECT_THAT(
      [&] { small.CopyRows(cache, 1, 0, 3); },
      ThrowsMessage<Error>(HasSubstr("KV cache full: copying rows [0, 3) beyond capacity 2")));
  EXPECT_THAT([&] { KvCache bad(*h.be, -1); },
              ThrowsMessage<Error>(HasSubstr("KV cache: negative capacity -1")));
}

}  // namespace
}  // namespace starattn
