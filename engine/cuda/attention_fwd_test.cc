// The device flash-attention forward against cpu::Attention (label: gpu; skipped without a
// device). Fresh seeded inputs per case, rounded to bf16/fp16 before the CPU oracle so that
// only accumulation differs; out and lse poisoned (0xFF = NaN) before every run.
//
// compute-sanitizer on small shapes (a GPU machine; see tools/bench_cuda_attention.sh):
//   compute-sanitizer --tool memcheck  build/tests/cuda_attention_fwd_test
//       --gtest_filter='*Small*:*Edge*:*Merge*'
//   compute-sanitizer --tool racecheck build/tests/cuda_attention_fwd_test
//       --gtest_filter='*Small*:*Edge*'
#include "engine/cuda/attention_fwd.cuh"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "engine/cuda/attention_testing.h"
#include "engine/cuda/check.cuh"
#include "engine/cuda/merge_states.cuh"

namespace starattn::cuda {
namespace {

using testing::AttentionProblem;
using testing::DeviceBuffer;
using testing::DType;

struct FwdCase {
  const char* name;
  DType dtype;
  int64_t n_q, n_kv, n_heads, n_kv_heads, head_dim;
  bool causal;
  int64_t q_offset, k_offset;
};

std::string Describe(const FwdCase& c) {
  std::ostringstream os;
  os << c.name << " " << Name(c.dtype) << " n_q=" << c.n_q << " n_kv=" << c.n_kv
     << " heads=" << c.n_heads << "/" << c.n_kv_heads << " d=" << c.head_dim
     << (c.causal ? " causal" : " full") << " q_off=" << c.q_offset << " k_off=" << c.k_offset;
  return os.str();
}

template <typename T>
void RunFwd(const FwdCase& c, uint64_t seed) {
  SCOPED_TRACE(Describe(c));
  SCOPED_TRACE(starattn::testing::SeedTrace(seed));
  const DeviceAttentionShape shape{c.n_q, c.n_kv, c.n_heads, c.n_kv_heads, c.head_dim};
  const DeviceAttentionMask mask{c.causal, c.q_offset, c.k_offset};
  AttentionProblem<T> p(shape, mask, seed);
  DeviceBuffer<T> q(p.hq), k(p.hk), v(p.hv);
  DeviceBuffer<T> out(p.want_out.size());
  DeviceBuffer<float> lse(p.want_lse.size());
  out.Poison();
  lse.Poison();
  STARATTN_CUDA_CHECK(AttentionForward<T>(q.get(), k.get(), v.get(), shape, mask, p.scale,
                                          out.get(), lse.get(), 0));
  STARATTN_CUDA_CHECK(cudaDeviceSynchronize());
  testing::ExpectMatches(testing::ToFloats(out.Download()), lse.Download(), p.want_out, p.want_lse,
                         Describe(c));
}

void RunCase(const FwdCase& c, uint64_t seed) {
  switch (c.dtype) {
    case DType::kBf16:
      return RunFwd<__nv_bfloat16>(c, seed);
    case DType::kFp16:
      return RunFwd<__half>(c, seed);
  }
}

constexpr DType kB = DType::kBf16;
constexpr DType kH = DType::kFp16;

// clang-format off
// Edge cases: ragged tiles, empty rows, no keys, offsets on both sides of the diagonal.
const FwdCase kEdgeCases[] = {
  // name               dtype n_q    n_kv   heads kvh  d    causal q_off   k_off
  {"one_by_one",        kB,   1,     1,     1,    1,   64,  true,  0,      0},
  {"no_keys",           kB,   5,     0,     2,    1,   64,  false, 0,      0},
  {"no_keys_causal",    kH,   70,    0,     2,    2,   128, true,  0,      0},
  {"all_rows_empty",    kB,   20,    33,    2,    1,   128, true,  0,      100},
  {"first_rows_empty",  kB,   150,   64,    4,    2,   64,  true,  0,      100},
  {"square_causal",     kH,   64,    64,    2,    1,   128, true,  0,      0},
  {"ragged_causal",     kB,   65,    127,   3,    1,   64,  true,  62,     0},
  {"suffix_causal",     kB,   77,    200,   8,    2,   128, true,  123,    0},
  {"past_diag_all_vis", kH,   200,   300,   2,    2,   64,  true,  1000,   0},
  {"big_offsets",       kB,   100,   150,   2,    1,   128, true,  1 << 20, (1 << 20) + 30},
  {"ratio3",            kH,   90,    130,   6,    2,   64,  false, 0,      0},
  {"ratio8_d128",       kB,   33,    257,   8,    1,   128, true,  224,    0},
  {"noncausal_1q",      kH,   1,     1000,  4,    4,   128, false, 0,      0},
};
// Long rows: 16K keys (suffix queries), 16K queries (short keys), 4K x 4K causal.
const FwdCase kLongCases[] = {
  // name               dtype n_q    n_kv   heads kvh  d    causal q_off   k_off
  {"keys_16k",          kB,   130,   16384, 2,    1,   128, true,  16254,  0},
  {"keys_16k_full",     kH,   64,    16384, 2,    2,   64,  false, 0,      0},
  {"queries_16k",       kB,   16384, 65,    1,    1,   64,  false, 0,      0},
  {"queries_16k_diag",  kH,   16384, 300,   1,    1,   128, true,  0,      16100},
  {"square_4k_causal",  kB,   4096,  4096,  1,    1,   64,  true,  0,      0},
  {"square_2k_gqa4",    kH,   2048,  2048,  4,    1,   128, true,  0,      0},
};
// clang-format on

TEST(CudaAttentionFwdTest, EdgeCases) {
  STARATTN_REQUIRE_CUDA_DEVICE();
  uint64_t seed = 100;
  for (const FwdCase& c : kEdgeCases) RunCase(c, seed++);
}

TEST(CudaAttentionFwdTest, LongRows) {
  STARATTN_REQUIRE_CUDA_DEVICE();
  uint64_t seed = 200;
  for (const FwdCase& c : kLongCases) RunCase(c, seed++);
}

// The sweep: dtype x head dim x GQA ratio x causal, ragged lengths, small enough for
// compute-sanitizer.
TEST(CudaAttentionFwdTest, SmallSweep) {
  STARATTN_REQUIRE_CUDA_DEVICE();
  uint64_t seed = 1000;
  for (DType dt : {kB, kH}) {
    for (int64_t d : {64, 128}) {
      for (int64_t ratio : {1, 2, 4, 8}) {
        for (bool causal : {false, true}) {
          const int64_t n_q = 37 + ratio * 11, n_kv = 100 + 29 * ratio;
          const FwdCase c{"sweep", dt, n_q, n_kv, 8, 8 / ratio, d, causal, n_kv - n_q, 0};
          RunCase(c, seed++);
        }
      }
    }
  }
}

// Lengths 1..2K in both directions, causal with the suffix diagonal (prefill of a block).
TEST(CudaAttentionFwdTest, LengthSweep) {
  STARATTN_REQUIRE_CUDA_DEVICE();
  uint64_t seed = 2000;
  for (int64_t n : {1, 2, 15, 16, 17, 63, 64, 65, 127, 128, 129, 255, 511, 1000, 2048}) {
    RunCase({"len", kB, n, n, 2, 1, 128, true, 0, 0}, seed++);
    RunCase({"len_kv", kH, std::min<int64_t>(n, 100), n, 4, 2, 64, true,
             n - std::min<int64_t>(n, 100), 0},
            seed++);
  }
}

// Star attention: attention over two key blocks, each through AttentionForward with its own
// k_offset, merged by the device MergeStates, equals attention over all keys.
TEST(CudaAttentionFwdTest, MergeOfKeyBlocksEqualsFullAttention) {
  STARATTN_REQUIRE_CUDA_DEVICE();
  const uint64_t seed = 3000;
  SCOPED_TRACE(starattn::testing::SeedTrace(seed));
  using T = __nv_bfloat16;
  const int64_t n_q = 96, n_kv = 500, split = 300, H = 4, KVH = 2, D = 128;
  const DeviceAttentionShape shape{n_q, n_kv, H, KVH, D};
  const DeviceAttentionMask mask{true, n_kv - n_q, 0};
  AttentionProblem<T> p(shape, mask, seed);
  DeviceBuffer<T> q(p.hq), k(p.hk), v(p.hv);
  const int64_t rows = n_q * H;
  DeviceBuffer<T> outs(2 * rows * D), out(rows * D);
  DeviceBuffer<float> lses(2 * rows), lse(rows);
  outs.Poison();
  lses.Poison();
  out.Poison();
  lse.Poison();
  const int64_t off[2] = {0, split};
  const int64_t len[2] = {split, n_kv - split};
  for (int b = 0; b < 2; ++b) {
    const DeviceAttentionShape s{n_q, len[b], H, KVH, D};
    const DeviceAttentionMask m{true, n_kv - n_q, off[b]};
    STARATTN_CUDA_CHECK(AttentionForward<T>(q.get(), k.get() + off[b] * KVH * D,
                                            v.get() + off[b] * KVH * D, s, m, p.scale,
                                            outs.get() + b * rows * D, lses.get() + b * rows, 0));
  }
  STARATTN_CUDA_CHECK(MergeStates<T>(outs.get(), lses.get(), 2, rows, D, out.get(), lse.get(), 0));
  STARATTN_CUDA_CHECK(cudaDeviceSynchronize());
  // Two roundings of out to bf16 (partials, then merged): still within the 16-bit policy.
  testing::ExpectMatches(testing::ToFloats(out.Download()), lse.Download(), p.want_out, p.want_lse,
                         "merged key blocks");
}

TEST(CudaAttentionFwdTest, RejectsUnsupportedShapes) {
  // Argument checks only: no launch, no device needed.
  const DeviceAttentionMask mask{};
  EXPECT_EQ(AttentionForward<__nv_bfloat16>(nullptr, nullptr, nullptr, {4, 4, 2, 2, 96}, mask, 1.f,
                                            nullptr, nullptr, 0),
            cudaErrorInvalidValue);
  EXPECT_EQ(AttentionForward<__half>(nullptr, nullptr, nullptr, {4, 4, 3, 2, 64}, mask, 1.f,
                                     nullptr, nullptr, 0),
            cudaErrorInvalidValue);
  EXPECT_EQ(AttentionForward<__half>(nullptr, nullptr, nullptr, {0, 4, 2, 2, 64}, mask, 1.f,
                                     nullptr, nullptr, 0),
            cudaSuccess);
}

}  // namespace
}  // namespace starattn::cuda
