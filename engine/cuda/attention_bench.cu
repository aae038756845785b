// cuda_attention_bench: the GPU's ceilings (cuBLAS bf16 GEMM TFLOP/s, device copy bandwidth),
// then attention forward TFLOP/s at the FlashAttention-3 paper's shape and split-KV decode
// bandwidth. Prints a table; writes JSON with --json PATH. Run by tools/bench_cuda_attention.sh.
//
//   cuda_attention_bench [--json PATH] [--quick] [--iters N]
//
// Forward shape (FlashAttention-2/3 papers): batch * seqlen = 16K tokens, heads * head_dim =
// 2048, seqlen 512..16K. Our kernel has no batch dimension; a batch of b sequences with h heads
// is run as one call with b * h heads over the layout [seqlen, b * h, head_dim] (the same
// per-(sequence, head) work and bytes). FLOPs = 4 * batch * seqlen^2 * heads * head_dim,
// halved for causal.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "engine/cuda/attention_decode.cuh"
#include "engine/cuda/attention_fwd.cuh"
#include "engine/cuda/check.cuh"

#define BENCH_CUBLAS_CHECK(expr)                                                             \
  do {                                                                                       \
    const cublasStatus_t st_ = (expr);                                                       \
    if (st_ != CUBLAS_STATUS_SUCCESS) {                                                      \
      std::fprintf(stderr, "cuBLAS error %d in %s at %s:%d\n", static_cast<int>(st_), #expr, \
                   __FILE__, __LINE__);                                                      \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

namespace starattn::cuda {
namespace {

using bf16 = __nv_bfloat16;

__global__ void FillKernel(bf16* p, size_t n, uint32_t seed, float amp) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    uint32_t x = static_cast<uint32_t>(i) * 2654435761u ^ seed;
    x ^= x >> 15;
    x *= 2246822519u;
    x ^= x >> 13;
    p[i] = __float2bfloat16(amp * (static_cast<float>(x & 0xFFFF) / 32768.f - 1.f));
  }
}

bf16* AllocRandom(size_t n, uint32_t seed, float amp = 1.f) {
  bf16* p = nullptr;
  STARATTN_CUDA_CHECK(cudaMalloc(&p, std::max<size_t>(n, 1) * sizeof(bf16)));
  FillKernel<<<1024, 256>>>(p, n, seed, amp);
  STARATTN_CUDA_CHECK(cudaGetLastError());
  return p;
}

// Mean milliseconds per call of fn over `iters` calls after `warmup` calls.
template <typename F>
float TimeMs(F&& fn, int warmup, int iters) {
  for (int i = 0; i < warmup; ++i) fn();
  cudaEvent_t a, b;
  STARATTN_CUDA_CHECK(cudaEventCreate(&a));
  STARATTN_CUDA_CHECK(cudaEventCreate(&b));
  STARATTN_CUDA_CHECK(cudaEventRecord(a));
  for (int i = 0; i < iters; ++i) fn();
  STARATTN_CUDA_CHECK(cudaEventRecord(b));
  STARATTN_CUDA_CHECK(cudaEventSynchronize(b));
  float ms = 0.f;
  STARATTN_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
  STARATTN_CUDA_CHECK(cudaEventDestroy(a));
  STARATTN_CUDA_CHECK(cudaEventDestroy(b));
  return ms / static_cast<float>(iters);
}

double GemmTflops(cublasHandle_t h, int n, int iters) {
  bf16* a = AllocRandom(static_cast<size_t>(n) * n, 1);
  bf16* b = AllocRandom(static_cast<size_t>(n) * n, 2);
  bf16* c = AllocRandom(static_cast<size_t>(n) * n, 3);
  const float alpha = 1.f, beta = 0.f;
  const float ms = TimeMs(
      [&] {
        BENCH_CUBLAS_CHECK(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, a,
                                        CUDA_R_16BF, n, b, CUDA_R_16BF, n, &beta, c, CUDA_R_16BF, n,
                                        CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
      },
      3, iters);
  for (bf16* p : {a, b, c}) STARATTN_CUDA_CHECK(cudaFree(p));
  return 2.0 * n * static_cast<double>(n) * n / (ms * 1e-3) / 1e12;
}

// Device-to-device copy: bytes read + bytes written per second.
double CopyGBps(size_t bytes, int iters) {
  void *src, *dst;
  STARATTN_CUDA_CHECK(cudaMalloc(&src, bytes));
  STARATTN_CUDA_CHECK(cudaMalloc(&dst, bytes));
  STARATTN_CUDA_CHECK(cudaMemset(src, 1, bytes));
  const float ms = TimeMs(
      [&] { STARATTN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice)); }, 3,
      iters);
  STARATTN_CUDA_CHECK(cudaFree(src));
  STARATTN_CUDA_CHECK(cudaFree(dst));
  return 2.0 * static_cast<double>(bytes) / (ms * 1e-3) / 1e9;
}

struct FwdResult {
  int head_dim;
  bool causal;
  int seqlen, batch, heads;
  float ms;
  double tflops;
};

FwdResult BenchForward(int head_dim, bool causal, int seqlen, int iters) {
  const int batch = 16384 / seqlen;
  const int heads = 2048 / head_dim;
  const int bh = batch * heads;
  const size_t n = static_cast<size_t>(seqlen) * bh * head_dim;
  bf16* q = AllocRandom(n, 11, 2.f);
  bf16* k = AllocRandom(n, 12);
  bf16* v = AllocRandom(n, 13);
  bf16* out = AllocRandom(n, 14);
  float* lse = nullptr;
  STARATTN_CUDA_CHECK(cudaMalloc(&lse, static_cast<size_t>(seqlen) * bh * sizeof(float)));
  const DeviceAttentionShape shape{seqlen, seqlen, bh, bh, head_dim};
  const DeviceAttentionMask mask{causal, 0, 0};
  const float scale = 1.f / std::sqrt(static_cast<float>(head_dim));
  const float ms = TimeMs(
      [&] {
        STARATTN_CUDA_CHECK(AttentionForward<bf16>(q, k, v, shape, mask, scale, out, lse, 0));
      },
      2, iters);
  for (bf16* p : {q, k, v, out}) STARATTN_CUDA_CHECK(cudaFree(p));
  STARATTN_CUDA_CHECK(cudaFree(lse));
  double flops = 4.0 * batch * static_cast<double>(seqlen) * seqlen * heads * head_dim;
  if (causal) flops /= 2;
  return {head_dim, causal, seqlen, batch, heads, ms, flops / (ms * 1e-3) / 1e12};
}

struct DecodeResult {
  int n_kv, n_heads, n_kv_heads, head_dim, n_splits;
  float ms;
  double gbps;
};

// One query token, Llama-3-8B-like heads (32 query / 8 KV heads, head_dim 128). Bytes: K and V
// once, plus q, out and the fp32 partial states written and read back.
DecodeResult BenchDecode(int n_kv, int num_sms, int iters) {
  const int H = 32, KVH = 8, D = 128;
  const size_t kv = static_cast<size_t>(n_kv) * KVH * D;
  bf16* q = AllocRandom(static_cast<size_t>(H) * D, 21, 2.f);
  bf16* k = AllocRandom(kv, 22);
  bf16* v = AllocRandom(kv, 23);
  bf16* out = AllocRandom(static_cast<size_t>(H) * D, 24);
  float* lse = nullptr;
  STARATTN_CUDA_CHECK(cudaMalloc(&lse, H * sizeof(float)));
  const DeviceAttentionShape shape{1, n_kv, H, KVH, D};
  const DeviceAttentionMask mask{true, n_kv - 1, 0};
  const int splits = AttentionDecodeSplits(shape, num_sms);
  const size_t ws_bytes = AttentionDecodeWorkspaceBytes(shape, splits);
  void* ws = nullptr;
  STARATTN_CUDA_CHECK(cudaMalloc(&ws, ws_bytes));
  const float scale = 1.f / std::sqrt(static_cast<float>(D));
  const float ms = TimeMs(
      [&] {
        STARATTN_CUDA_CHECK(
            AttentionDecode<bf16>(q, k, v, shape, mask, scale, splits, ws, ws_bytes, out, lse, 0));
      },
      3, iters);
  for (bf16* p : {q, k, v, out}) STARATTN_CUDA_CHECK(cudaFree(p));
  STARATTN_CUDA_CHECK(cudaFree(lse));
  STARATTN_CUDA_CHECK(cudaFree(ws));
  const double bytes = 2.0 * kv * sizeof(bf16) + 2.0 * ws_bytes + 2.0 * H * D * sizeof(bf16);
  return {n_kv, H, KVH, D, splits, ms, bytes / (ms * 1e-3) / 1e9};
}

int Main(int argc, char** argv) {
  std::string json_path;
  bool quick = false;
  int iters = 20;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--json") && i + 1 < argc) {
      json_path = argv[++i];
    } else if (!std::strcmp(argv[i], "--quick")) {
      quick = true;
    } else if (!std::strcmp(argv[i], "--iters") && i + 1 < argc) {
      iters = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--json PATH] [--quick] [--iters N]\n", argv[0]);
      return 2;
    }
  }
  int dev_count = 0;
  if (cudaGetDeviceCount(&dev_count) != cudaSuccess || dev_count == 0) {
    std::fprintf(stderr, "cuda_attention_bench: no CUDA device\n");
    return 1;
  }
  cudaDeviceProp prop{};
  STARATTN_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  int driver = 0, runtime = 0;
  STARATTN_CUDA_CHECK(cudaDriverGetVersion(&driver));
  STARATTN_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  std::printf("device: %s (sm_%d%d, %d SMs), driver %d, runtime %d\n", prop.name, prop.major,
              prop.minor, prop.multiProcessorCount, driver, runtime);

  cublasHandle_t h;
  BENCH_CUBLAS_CHECK(cublasCreate(&h));
  const double gemm = GemmTflops(h, 8192, iters);
  BENCH_CUBLAS_CHECK(cublasDestroy(h));
  const double copy = CopyGBps(size_t{1} << 30, iters);
  std::printf("ceilings: cuBLAS bf16 GEMM 8192^3 %.1f TFLOP/s; D2D copy %.1f GB/s (read+write)\n",
              gemm, copy);

  std::vector<FwdResult> fwd;
  const std::vector<int> seqlens =
      quick ? std::vector<int>{512, 4096} : std::vector<int>{512, 1024, 2048, 4096, 8192, 16384};
  std::printf("\nattention forward (bf16, batch*seqlen=16K, heads*head_dim=2048)\n");
  std::printf("%8s %7s %8s %6s %6s %10s %9s %8s\n", "head_dim", "causal", "seqlen", "batch",
              "heads", "ms", "TFLOP/s", "%gemm");
  for (int d : {64, 128}) {
    for (bool causal : {false, true}) {
      for (int s : seqlens) {
        const FwdResult r = BenchForward(d, causal, s, iters);
        fwd.push_back(r);
        std::printf("%8d %7s %8d %6d %6d %10.3f %9.1f %7.1f%%\n", d, causal ? "yes" : "no", s,
                    r.batch, r.heads, r.ms, r.tflops, 100.0 * r.tflops / gemm);
      }
    }
  }

  std::vector<DecodeResult> dec;
  const std::vector<int> kvs =
      quick ? std::vector<int>{8192, 131072} : std::vector<int>{8192, 16384, 32768, 65536, 131072};
  std::printf("\ndecode (bf16, 1 query, 32/8 heads, head_dim 128, split-KV)\n");
  std::printf("%8s %7s %10s %9s %8s\n", "n_kv", "splits", "us", "GB/s", "%copy");
  for (int n : kvs) {
    const DecodeResult r = BenchDecode(n, prop.multiProcessorCount, iters * 5);
    dec.push_back(r);
    std::printf("%8d %7d %10.2f %9.1f %7.1f%%\n", n, r.n_splits, r.ms * 1e3, r.gbps,
                100.0 * r.gbps / copy);
  }

  if (!json_path.empty()) {
    FILE* f = std::fopen(json_path.c_str(), "w");
    if (f == nullptr) {
      std::fprintf(stderr, "cannot write %s\n", json_path.c_str());
      return 1;
    }
    std::fprintf(f, "{\n  \"device\": \"%s\",\n  \"sm\": %d%d,\n  \"num_sms\": %d,\n", prop.name,
                 prop.major, prop.minor, prop.multiProcessorCount);
    std::fprintf(f, "  \"cuda_driver\": %d,\n  \"cuda_runtime\": %d,\n  \"iters\": %d,\n", driver,
                 runtime, iters);
    std::fprintf(f, "  \"gemm_bf16_tflops\": %.3f,\n  \"copy_gbps\": %.3f,\n", gemm, copy);
    std::fprintf(f, "  \"attention_fwd\": [\n");
    for (size_t i = 0; i < fwd.size(); ++i) {
      const FwdResult& r = fwd[i];
      std::fprintf(f,
                   "    {\"dtype\": \"bf16\", \"head_dim\": %d, \"causal\": %s, \"seqlen\": %d, "
                   "\"batch\": %d, \"heads\": %d, \"ms\": %.4f, \"tflops\": %.2f}%s\n",
                   r.head_dim, r.causal ? "true" : "false", r.seqlen, r.batch, r.heads, r.ms,
                   r.tflops, i + 1 < fwd.size() ? "," : "");
    }
    std::fprintf(f, "  ],\n  \"decode\": [\n");
    for (size_t i = 0; i < dec.size(); ++i) {
      const DecodeResult& r = dec[i];
      std::fprintf(f,
                   "    {\"dtype\": \"bf16\", \"n_q\": 1, \"n_kv\": %d, \"n_heads\": %d, "
                   "\"n_kv_heads\": %d, \"head_dim\": %d, \"n_splits\": %d, \"us\": %.3f, "
                   "\"gbps\": %.2f, \"fraction_of_copy\": %.4f}%s\n",
                   r.n_kv, r.n_heads, r.n_kv_heads, r.head_dim, r.n_splits, r.ms * 1e3, r.gbps,
                   r.gbps / copy, i + 1 < dec.size() ? "," : "");
    }
    std::fprintf(f, "  ]\n}\n");
    std::fclose(f);
    std::printf("\nwrote %s\n", json_path.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace starattn::cuda

int main(int argc, char** argv) { return starattn::cuda::Main(argc, argv); }
