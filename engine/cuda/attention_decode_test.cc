// The split-KV decode attention against cpu::Attention and against the forward kernel
// (label: gpu; skipped without a device). Outputs poisoned before every run.
//
// compute-sanitizer on small shapes:
//   compute-sanitizer --tool memcheck  build/tests/cuda_attention_decode_test
//       --gtest_filter='*Small*'
//   compute-sanitizer --tool racecheck build/tests/cuda_attention_decode_test
//       --gtest_filter='*Small*'
#include "engine/cuda/attention_decode.cuh"

#include <gtest/gtest.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "engine/cuda/attention_fwd.cuh"
#include "engine/cuda/attention_testing.h"
#include "engine/cuda/check.cuh"

namespace starattn::cuda {
namespace {

using testing::AttentionProblem;
using testing::DeviceBuffer;
using testing::DType;

struct DecodeCase {
  DType dtype;
  int64_t n_q, n_kv, n_heads, n_kv_heads, head_dim;
  bool causal;
  int64_t q_offset, k_offset;
  int n_splits;  // 0: AttentionDecodeSplits
};

std::string Describe(const DecodeCase& c) {
  std::ostringstream os;
  os << Name(c.dtype) << " n_q=" << c.n_q << " n_kv=" << c.n_kv << " heads=" << c.n_heads << "/"
     << c.n_kv_heads << " d=" << c.head_dim << (c.causal ? " causal" : " full")
     << " q_off=" << c.q_offset << " k_off=" << c.k_offset << " splits=" << c.n_splits;
  return os.str();
}

int NumSms() {
  int n = 0;
  STARATTN_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, 0));
  return n;
}

// Runs decode with the case's split count and, as a cross-check, the forward kernel on the
// same inputs; both must match the CPU oracle.
template <typename T>
void RunDecode(const DecodeCase& c, uint64_t seed) {
  SCOPED_TRACE(Describe(c));
  SCOPED_TRACE(starattn::testing::SeedTrace(seed));
  const DeviceAttentionShape shape{c.n_q, c.n_kv, c.n_heads, c.n_kv_heads, c.head_dim};
  const DeviceAttentionMask mask{c.causal, c.q_offset, c.k_offset};
  AttentionProblem<T> p(shape, mask, seed);
  const int n_splits = c.n_splits > 0 ? c.n_splits : AttentionDecodeSplits(shape, NumSms());
  const size_t ws_bytes = AttentionDecodeWorkspaceBytes(shape, n_splits);
  DeviceBuffer<T> q(p.hq), k(p.hk), v(p.hv);
  DeviceBuffer<unsigned char> ws(ws_bytes);
  DeviceBuffer<T> out(p.want_out.size());
  DeviceBuffer<float> lse(p.want_lse.size());
  ws.Poison();
  out.Poison();
  lse.Poison();
  STARATTN_CUDA_CHECK(AttentionDecode<T>(q.get(), k.get(), v.get(), shape, mask, p.scale, n_splits,
                                         ws.get(), ws_bytes, out.get(), lse.get(), 0));
  STARATTN_CUDA_CHECK(cudaDeviceSynchronize());
  testing::ExpectMatches(testing::ToFloats(out.Download()), lse.Download(), p.want_out, p.want_lse,
                         "decode " + Describe(c));

  out.Poison();
  lse.Poison();
  STARATTN_CUDA_CHECK(AttentionForward<T>(q.get(), k.get(), v.get(), shape, mask, p.scale,
                                          out.get(), lse.get(), 0));
  STARATTN_CUDA_CHECK(cudaDeviceSynchronize());
  testing::ExpectMatches(testing::ToFloats(out.Download()), lse.Download(), p.want_out, p.want_lse,
                         "forward " + Describe(c));
}

void RunCase(const DecodeCase& c, uint64_t seed) {
  switch (c.dtype) {
    case DType::kBf16:
      return RunDecode<__nv_bfloat16>(c, seed);
    case DType::kFp16:
      return RunDecode<__half>(c, seed);
  }
}

constexpr DType kB = DType::kBf16;
constexpr DType kH = DType::kFp16;

// Small shapes (also the compute-sanitizer set): ratios 1..12 (12 uses two head chunks, the
// second one ragged), split counts larger than the key count, empty rows.
TEST(CudaAttentionDecodeTest, SmallSweep) {
  STARATTN_REQUIRE_CUDA_DEVICE();
  uint64_t seed = 5000;
  for (DType dt : {kB, kH}) {
    for (int64_t d : {64, 128}) {
      for (int64_t ratio : {1, 2, 4, 8, 12}) {
        for (int64_t n_kv : {1, 7, 255, 1000}) {
          for (int splits : {1, 3, 0}) {
            RunCase({dt, 1, n_kv, 2 * ratio, 2, d, true, n_kv - 1, 0, splits}, seed++);
          }
        }
      }
    }
  }
}

TEST(CudaAttentionDecodeTest, SmallEdgeCases) {
  STARATTN_REQUIRE_CUDA_DEVICE();
  uint64_t seed = 6000;
  // clang-format off
  const DecodeCase cases[] = {
    // dtype n_q n_kv  heads kvh d    causal q_off k_off splits
    {kB,     1,  0,    4,    1,  128, true,  0,    0,    4},   // no keys
    {kH,     1,  50,   4,    2,  64,  true,  0,    10,   4},   // the query sees no key
    {kB,     4,  300,  8,    2,  128, true,  296,  0,    5},   // 4 queries, staggered diagonal
    {kH,     8,  513,  16,   2,  64,  true,  500,  0,    0},   // each query sees its own prefix
    {kB,     3,  700,  6,    2,  128, false, 0,    0,    64},  // non-causal, many splits
    {kB,     2,  100,  2,    2,  64,  true,  50,   0,    200}, // more splits than keys
  };
  // clang-format on
  for (const DecodeCase& c : cases) RunCase(c, seed++);
}

// Long contexts: 8K..128K keys, one query, GQA 8 (Llama-like) and 1.
TEST(CudaAttentionDecodeTest, LongContexts) {
  STARATTN_REQUIRE_CUDA_DEVICE();
  uint64_t seed = 7000;
  for (int64_t n_kv : {8192, 32768, 131072}) {
    RunCase({kB, 1, n_kv, 32, 4, 128, true, n_kv - 1, 0, 0}, seed++);
    RunCase({kH, 1, n_kv, 8, 8, 64, true, n_kv - 1, 0, 0}, seed++);
  }
}

// The split count does not change the result beyond the merge's fp32 rounding.
TEST(CudaAttentionDecodeTest, SplitCountInvariance) {
  STARATTN_REQUIRE_CUDA_DEVICE();
  using T = __nv_bfloat16;
  const uint64_t seed = 8000;
  SCOPED_TRACE(starattn::testing::SeedTrace(seed));
  const DeviceAttentionShape shape{1, 5000, 16, 2, 128};
  const DeviceAttentionMask mask{true, 4999, 0};
  AttentionProblem<T> p(shape, mask, seed);
  DeviceBuffer<T> q(p.hq), k(p.hk), v(p.hv);
  std::vector<float> first_out, first_lse;
  for (int splits : {1, 2, 7, 19, 64}) {
    const size_t ws_bytes = AttentionDecodeWorkspaceBytes(shape, splits);
    DeviceBuffer<unsigned char> ws(ws_bytes);
    DeviceBuffer<T> out(p.want_out.size());
    DeviceBuffer<float> lse(p.want_lse.size());
    out.Poison();
    lse.Poison();
    STARATTN_CUDA_CHECK(AttentionDecode<T>(q.get(), k.get(), v.get(), shape, mask, p.scale, splits,
                                           ws.get(), ws_bytes, out.get(), lse.get(), 0));
    STARATTN_CUDA_CHECK(cudaDeviceSynchronize());
    auto got_out = testing::ToFloats(out.Download());
    auto got_lse = lse.Download();
    if (first_out.empty()) {
      first_out = got_out;
      first_lse = got_lse;
    }
    // One bf16 rounding of out apart at most (2^-8 relative), fp32 lse.
    starattn::testing::AllClose(got_out, first_out, {4e-3, 8e-3}, "split invariance out");
    starattn::testing::AllClose(got_lse, first_lse, {1e-4, 1e-5}, "split invariance lse");
  }
}

TEST(CudaAttentionDecodeTest, RejectsBadArguments) {
  // Argument checks only: no launch, no device needed.
  const DeviceAttentionShape shape{1, 100, 4, 2, 128};
  const DeviceAttentionMask mask{};
  const size_t need = AttentionDecodeWorkspaceBytes(shape, 4);
  EXPECT_EQ(need, size_t{4} * 4 * 129 * sizeof(float));
  EXPECT_EQ(AttentionDecode<__nv_bfloat16>(nullptr, nullptr, nullptr, shape, mask, 1.f, 4, nullptr,
                                           need - 1, nullptr, nullptr, 0),
            cudaErrorInvalidValue);
  EXPECT_EQ(AttentionDecode<__half>(nullptr, nullptr, nullptr, {1, 100, 4, 2, 80}, mask, 1.f, 1,
                                    nullptr, 1 << 20, nullptr, nullptr, 0),
            cudaErrorInvalidValue);
  EXPECT_EQ(AttentionDecode<__half>(nullptr, nullptr, nullptr, shape, mask, 1.f, 0, nullptr,
                                    1 << 20, nullptr, nullptr, 0),
            cudaErrorInvalidValue);
  EXPECT_GE(AttentionDecodeSplits({1, 131072, 32, 8, 128}, 132), 2);
  EXPECT_EQ(AttentionDecodeSplits({1, 100, 32, 8, 128}, 132), 1);
}

}  // namespace
}  // namespace starattn::cuda
