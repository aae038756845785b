// CHECK macros for CUDA runtime calls: the failing expression, file and line, then abort.
#pragma once

#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>

#define STARATTN_CUDA_CHECK(expr)                                                                  \
  do {                                                                                             \
    const cudaError_t starattn_err_ = (expr);                                                      \
    if (starattn_err_ != cudaSuccess) {                                                            \
      std::fprintf(stderr, "CUDA error %s (%s) in %s at %s:%d\n", cudaGetErrorName(starattn_err_), \
                   cudaGetErrorString(starattn_err_), #expr, __FILE__, __LINE__);                  \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)
