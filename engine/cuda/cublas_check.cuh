// CHECK macro for cuBLAS / cuBLASLt calls: the failing expression, file and line, then abort
// (the companion of STARATTN_CUDA_CHECK in check.cuh).
#pragma once

#include <cublas_api.h>

#include <cstdio>
#include <cstdlib>

#define STARATTN_CUBLAS_CHECK(expr)                                                            \
  do {                                                                                         \
    const cublasStatus_t starattn_st_ = (expr);                                                \
    if (starattn_st_ != CUBLAS_STATUS_SUCCESS) {                                               \
      std::fprintf(stderr, "cuBLAS error %s (%d) in %s at %s:%d\n",                            \
                   cublasGetStatusString(starattn_st_), static_cast<int>(starattn_st_), #expr, \
                   __FILE__, __LINE__);                                                        \
      std::abort();                                                                            \
    }                                                                                          \
  } while (0)
