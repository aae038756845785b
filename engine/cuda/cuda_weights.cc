#include "engine/cuda/cuda_weights.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>

#include "engine/common/error.h"
#include "engine/cuda/cast.cuh"
#include "engine/cuda/check.cuh"
#include "engine/cuda/cuda_backend.h"
#include "engine/cuda/dtype_dispatch.h"

namespace starattn::cuda {

void* DeviceAlloc(size_t bytes, std::string_view what) {
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, std::max<size_t>(bytes, 16));
  if (e != cudaSuccess) {
    (void)cudaGetLastError();  // clear it: later launch checks must not report this failure
    Fail("CUDA: cannot allocate {:.1f} MiB for {}: {}", bytes / 1048576.0, what,
         cudaGetErrorString(e));
  }
  return p;
}

// ---- CudaWeights --------------------------------------------------------------------------

namespace {
constexpr int64_t kStagingFloats = int64_t{16} << 20;  // 64 MiB of fp32 per upload step
}

CudaWeights::CudaWeights(const Model& model, DType dtype, int device)
    : model_(model), dtype_(dtype), device_(device) {
  const ModelConfig& c = model.config();
  if (dtype == DType::kF32) Fail("--device cuda: weights are bf16 or f16, not f32");
  if (c.head_dim != 64 && c.head_dim != 128) {
    Fail("{}: head_dim {} is not supported on the GPU (the attention kernels take 64 or 128)",
         model.source(), c.head_dim);
  }
  std::string why;
  const int n_dev = CudaDeviceCount(&why);
  if (n_dev == 0) Fail("--device cuda: {}", why);
  if (device < 0 || device >= n_dev)
    Fail("CUDA device {} does not exist ({} found)", device, n_dev);
  STARATTN_CUDA_CHECK(cudaSetDevice(device));
  staging_ = static_cast<float*>(DeviceAlloc(kStagingFloats * sizeof(float), "weight staging"));
  try {
    const Weights& w = model.weights();
    tok_embd_ = Upload16(w.tok_embd);
    lm_head_ = w.output.empty() ? tok_embd_ : Upload16(w.output);
    out_norm_ = Upload32(w.out_norm);
    for (const LayerWeights& L : w.layers) {
      Layer d;
      d.attn_norm = Upload32(L.attn_norm);
      d.wq = Upload16(L.wq);
      d.wk = Upload16(L.wk);
      d.wv = Upload16(L.wv);
      if (!L.bq.empty()) d.bq = Upload32(L.bq);
      if (!L.bk.empty()) d.bk = Upload32(L.bk);
      if (!L.bv.empty()) d.bv = Upload32(L.bv);
      d.wo = Upload16(L.wo);
      d.ffn_norm = Upload32(L.ffn_norm);
      d.w_gate = Upload16(L.w_gate);
      d.w_up = Upload16(L.w_up);
      d.w_down = Upload16(L.w_down);
      layers_.push_back(d);
    }
    // The model's own table (the CPU backend uses the same), so the two cannot drift apart.
    const std::vector<float>& inv = model.inv_freq();
    inv_freq_ = Upload32(inv);
    n_freq_ = static_cast<int64_t>(inv.size());
    STARATTN_CUDA_CHECK(cudaDeviceSynchronize());
  } catch (...) {
    STARATTN_CUDA_CHECK(cudaFree(staging_));
    for (void* p : allocations_) STARATTN_CUDA_CHECK(cudaFree(p));
    throw;
  }
  STARATTN_CUDA_CHECK(cudaFree(staging_));
  staging_ = nullptr;
}

CudaWeights::~CudaWeights() {
  STARATTN_CUDA_CHECK(cudaSetDevice(device_));
  for (void* p : allocations_) STARATTN_CUDA_CHECK(cudaFree(p));
}

const void* CudaWeights::Upload16(const WeightMatrix& w) {
  const int64_t n = w.size(), cols = w.cols();
  void* dst = DeviceAlloc(n * 2, "weights");
  allocations_.push_back(dst);
  bytes_ += n * 2;
  // Row blocks of at most the staging buffer, read from the file in fp32 one block at a time:
  // no fp32 copy of the whole model on the host.
  w.ForEachRowBlock(
      kStagingFloats * sizeof(float), [&](int64_t r0, int64_t rows, const float* block) {
        const int64_t m = rows * cols;
        // Synchronous copy: the staging buffer is reused by the next block only after the cast,
        // which the default stream orders after this copy.
        STARATTN_CUDA_CHECK(cudaMemcpy(staging_, block, m * sizeof(float), cudaMemcpyHostToDevice));
        Dispatch16(dtype_, [&](auto* tag) {
          using T = std::remove_pointer_t<decltype(tag)>;
          STARATTN_CUDA_CHECK(
              cuda::CastFromFp32<T>(staging_, m, static_cast<T*>(dst) + r0 * cols, nullptr));
        });
      });
  return dst;
}

const float* CudaWeights::Upload32(const std::vector<float>& host) {
  const int64_t n = static_cast<int64_t>(host.size());
  auto* dst = static_cast<float*>(DeviceAlloc(n * sizeof(float), "weights"));
  allocations_.push_back(dst);
  bytes_ += n * static_cast<int64_t>(sizeof(float));
  STARATTN_CUDA_CHECK(cudaMemcpy(dst, host.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  return dst;
}

}  // namespace starattn::cuda
