// GEMM on the device through cuBLASLt: y = x * w^T with 16-bit inputs, fp32 accumulation and
// fp32 compute, and an fp32 or 16-bit output. The linear layers of the model (cpu::MatMul's
// layout).
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <tuple>

namespace starattn::cuda {

enum class GemmType { kF32, kBf16, kF16 };

// One per stream user (not thread-safe): owns a cuBLASLt handle, a workspace and the plans
// (layouts + the heuristic's algorithm) of the shapes it has seen.
class Gemm {
 public:
  static constexpr size_t kWorkspaceBytes = size_t{32} << 20;
  Gemm();
  ~Gemm();
  Gemm(const Gemm&) = delete;
  Gemm& operator=(const Gemm&) = delete;

  //   x: [n, in] (in_type)   w: [out, in] (in_type)   y: [n, out] (out_type)   row-major
  // in_type: kBf16 or kF16; out_type: any. Pointers 16-byte aligned. Returns
  // CUBLAS_STATUS_INVALID_VALUE for an unsupported type or shape, else cuBLASLt's status.
  // Asynchronous on `stream`.
  cublasStatus_t MatMul(const void* x, int64_t n, int64_t in, const void* w, int64_t out,
                        GemmType in_type, void* y, GemmType out_type, cudaStream_t stream);

 private:
  struct Plan {
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
    cublasLtMatmulAlgo_t algo{};
  };
  using Key = std::tuple<int64_t, int64_t, int64_t, int, int>;
  cublasStatus_t GetPlan(const Key& key, Plan** plan);

  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  std::map<Key, Plan> plans_;
};

}  // namespace starattn::cuda
