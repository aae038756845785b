#include "engine/cuda/check.cuh"
#include "engine/cuda/cublas_check.cuh"
#include "engine/cuda/gemm.cuh"

namespace starattn::cuda {
namespace {

cudaDataType_t DataType(GemmType t) {
  switch (t) {
    case GemmType::kF32:
      return CUDA_R_32F;
    case GemmType::kBf16:
      return CUDA_R_16BF;
    case GemmType::kF16:
      return CUDA_R_16F;
  }
  return CUDA_R_32F;
}

// Destroys what a plan holds (each call checked; null members are skipped).
void DestroyPlan(cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                 cublasLtMatrixLayout_t d) {
  if (d != nullptr) STARATTN_CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(d));
  if (b != nullptr) STARATTN_CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(b));
  if (a != nullptr) STARATTN_CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(a));
  if (desc != nullptr) STARATTN_CUBLAS_CHECK(cublasLtMatmulDescDestroy(desc));
}

}  // namespace

Gemm::Gemm() {
  STARATTN_CUBLAS_CHECK(cublasLtCreate(&handle_));
  STARATTN_CUDA_CHECK(cudaMalloc(&workspace_, kWorkspaceBytes));
}

Gemm::~Gemm() {
  for (auto& [key, p] : plans_) DestroyPlan(p.desc, p.a, p.b, p.d);
  STARATTN_CUDA_CHECK(cudaFree(workspace_));
  STARATTN_CUBLAS_CHECK(cublasLtDestroy(handle_));
}

// Row-major y [n, out] = x [n, in] * w [out, in]^T is, in cuBLAS's column-major terms,
// D [out, n] = op(A) * B with A = w stored as [in, out] (ld in) transposed, B = x stored as
// [in, n] (ld in), D stored as [out, n] (ld out): m = out, n = n, k = in.
cublasStatus_t Gemm::GetPlan(const Key& key, Plan** plan) {
  auto it = plans_.find(key);
  if (it != plans_.end()) {
    *plan = &it->second;
    return CUBLAS_STATUS_SUCCESS;
  }
  const auto [n, in, out, in_t, out_t] = key;
  const cudaDataType_t ab = DataType(static_cast<GemmType>(in_t));
  const cudaDataType_t dt = DataType(static_cast<GemmType>(out_t));
  Plan p;
  cublasStatus_t st = cublasLtMatmulDescCreate(&p.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F);
  const cublasOperation_t trans_a = CUBLAS_OP_T, trans_b = CUBLAS_OP_N;
  if (st == CUBLAS_STATUS_SUCCESS) {
    st = cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &trans_a,
                                        sizeof(trans_a));
  }
  if (st == CUBLAS_STATUS_SUCCESS) {
    st = cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &trans_b,
                                        sizeof(trans_b));
  }
  if (st == CUBLAS_STATUS_SUCCESS) st = cublasLtMatrixLayoutCreate(&p.a, ab, in, out, in);
  if (st == CUBLAS_STATUS_SUCCESS) st = cublasLtMatrixLayoutCreate(&p.b, ab, in, n, in);
  if (st == CUBLAS_STATUS_SUCCESS) st = cublasLtMatrixLayoutCreate(&p.d, dt, out, n, out);
  cublasLtMatmulPreference_t pref = nullptr;
  if (st == CUBLAS_STATUS_SUCCESS) st = cublasLtMatmulPreferenceCreate(&pref);
  const size_t ws = kWorkspaceBytes;
  if (st == CUBLAS_STATUS_SUCCESS) {
    st = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
                                              sizeof(ws));
  }
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  if (st == CUBLAS_STATUS_SUCCESS) {
    st = cublasLtMatmulAlgoGetHeuristic(handle_, p.desc, p.a, p.b, p.d, p.d, pref, 1, &result,
                                        &found);
  }
  if (pref != nullptr) STARATTN_CUBLAS_CHECK(cublasLtMatmulPreferenceDestroy(pref));
  if (st == CUBLAS_STATUS_SUCCESS && found == 0) st = CUBLAS_STATUS_NOT_SUPPORTED;
  if (st != CUBLAS_STATUS_SUCCESS) {
    DestroyPlan(p.desc, p.a, p.b, p.d);
    return st;
  }
  p.algo = result.algo;
  auto [pos, inserted] = plans_.emplace(key, p);
  *plan = &pos->second;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t Gemm::MatMul(const void* x, int64_t n, int64_t in, const void* w, int64_t out,
                            GemmType in_type, void* y, GemmType out_type, cudaStream_t stream) {
  if (in_type == GemmType::kF32 || n < 0 || in <= 0 || out <= 0) {
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  if (n == 0) return CUBLAS_STATUS_SUCCESS;
  Plan* p = nullptr;
  const cublasStatus_t st =
      GetPlan(Key{n, in, out, static_cast<int>(in_type), static_cast<int>(out_type)}, &p);
  if (st != CUBLAS_STATUS_SUCCESS) return st;
  const float alpha = 1.0f, beta = 0.0f;
  return cublasLtMatmul(handle_, p->desc, &alpha, w, p->a, x, p->b, &beta, y, p->d, y, p->d,
                        &p->algo, workspace_, kWorkspaceBytes, stream);
}

}  // namespace starattn::cuda
